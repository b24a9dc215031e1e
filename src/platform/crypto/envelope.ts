/**
 * Envelope encryption of column values: AES-256-GCM under a per-scope data key, bound by its
 * associated data to organisation, table, column and row. Owns the ciphertext format
 *   v1.<scope-ref>.<version>.<base64url(iv | ciphertext | tag)>
 * where scope-ref is `o` (the organisation key) or `s:<subjectId>` (a subject key); the
 * organisation comes from the row, so a value copied to another organisation names a key that
 * does not fit. Must never return plaintext that failed authentication, nor reuse an IV.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { CryptoError } from './errors.ts';
import type { DataKey, Keyring } from './keyring.ts';
import { orgScope, subjectScope, type CipherAad, type Scope } from './types.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const PREFIX = 'v1.';
const VERSION = /^[1-9][0-9]{0,8}$/;

// One getrandom call per 256 IVs instead of one per message (that call costs more than the rest
// of the wrapper). Module-level because it holds only fresh randomness; each IV is handed out once
// and copied into the output synchronously, before any refill can overwrite it.
const ivPool = Buffer.alloc(IV_BYTES * 256);
let ivOffset = ivPool.length;

function nextIv(): Buffer {
  if (ivOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

// Length-prefixed fields: no choice of ids can make two different bindings encode alike. Written
// into one reusable buffer (setAAD copies it into the cipher at once, synchronously), so the hot
// path allocates nothing for it. Ids are short; a longer binding gets a buffer of its own.
const aadScratch = Buffer.allocUnsafe(1024);

function aadBytes(scope: Scope, version: number, aad: CipherAad): Buffer {
  const { orgId, table, column, rowId } = aad;
  const text =
    `palisade/v1|${scope.length}:${scope}|${version}|${orgId.length}:${orgId}|${table.length}:${table}` +
    `|${column.length}:${column}|${rowId.length}:${rowId}`;
  // 3 bytes per UTF-16 unit bounds the UTF-8 length, so the write below can never be cut short.
  if (text.length * 3 > aadScratch.length) return Buffer.from(text, 'utf8');
  return aadScratch.subarray(0, aadScratch.write(text, 0, 'utf8'));
}

// Canonical unpadded base64url. Node's decoder skips characters outside the alphabet, also accepts
// `+ / =`, and ignores the spare bits of the last character, so an edited text could decode to
// the same bytes. Equivalent to `decoded.toString('base64url') === text` (checked by a property
// test) at a fraction of the cost: a skipped character makes the text longer than the canonical
// length of what it decoded to; the other two cases are checked directly.
const SPARE_BITS_ZERO_2 = 'AQgw'; // last of 2 characters: low 4 bits unused
const SPARE_BITS_ZERO_3 = 'AEIMQUYcgkosw048'; // last of 3 characters: low 2 bits unused

export function isCanonicalBase64url(text: string, decodedLength: number): boolean {
  if (text.length !== Math.ceil((decodedLength * 4) / 3)) return false;
  if (text.indexOf('+') !== -1 || text.indexOf('/') !== -1 || text.indexOf('=') !== -1) return false;
  const rest = text.length % 4;
  if (rest === 0) return true;
  return (rest === 2 ? SPARE_BITS_ZERO_2 : SPARE_BITS_ZERO_3).includes(text.charAt(text.length - 1));
}

export interface ParsedCiphertext {
  readonly scope: Scope;
  readonly version: number;
  readonly blob: string;
}

/** Which key and version a stored value needs; the organisation comes from the row's binding. */
export function parseCiphertext(ciphertext: string, orgId: string): ParsedCiphertext {
  const refEnd = ciphertext.indexOf('.', PREFIX.length);
  const versionEnd = refEnd < 0 ? -1 : ciphertext.indexOf('.', refEnd + 1);
  if (!ciphertext.startsWith(PREFIX) || versionEnd < 0) {
    throw new CryptoError('malformed_ciphertext', 'A stored value is not a Palisade ciphertext.');
  }
  const ref = ciphertext.slice(PREFIX.length, refEnd);
  const versionText = ciphertext.slice(refEnd + 1, versionEnd);
  const version = Number(versionText);
  if (!VERSION.test(versionText)) {
    throw new CryptoError('malformed_ciphertext', 'A stored value names an invalid key version.');
  }
  let scope: Scope;
  if (ref === 'o') scope = orgScope(orgId);
  else if (ref.startsWith('s:')) scope = subjectScope(orgId, ref.slice(2));
  else throw new CryptoError('malformed_ciphertext', 'A stored value names an unknown key.');
  return { scope, version, blob: ciphertext.slice(versionEnd + 1) };
}

// Plain string checks: the keyring validated the scope when it loaded the key.
function scopeRef(scope: Scope, orgId: string): string {
  if (scope.length === orgId.length + 4 && scope.endsWith(orgId) && scope.startsWith('org:')) return 'o';
  const subjectPrefix = `subject:${orgId}:`;
  if (scope.startsWith(subjectPrefix)) return `s:${scope.slice(subjectPrefix.length)}`;
  throw new CryptoError('invalid_scope', 'A key of another organisation cannot be used here.');
}

/** Synchronous hot path for a key already in hand (see Keyring.peekCurrent). */
export function encryptWith(dataKey: DataKey, plaintext: string | Buffer, aad: CipherAad): string {
  const ref = scopeRef(dataKey.scope, aad.orgId);
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', dataKey.key, iv);
  cipher.setAAD(aadBytes(dataKey.scope, dataKey.version, aad));
  const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
  cipher.final();
  // iv | body | tag assembled once and encoded straight from the buffer (no Buffer.concat list).
  const length = IV_BYTES + body.length + TAG_BYTES;
  const blob = Buffer.allocUnsafe(length);
  iv.copy(blob, 0);
  body.copy(blob, IV_BYTES);
  cipher.getAuthTag().copy(blob, length - TAG_BYTES);
  return `${PREFIX}${ref}.${dataKey.version}.${blob.toString('base64url')}`;
}

// Stored values are decoded into one reusable buffer (a fresh one for a large value): nothing
// keeps a view of it past decryptWith, since the IV and tag are copied into the decipher at once
// and update() returns a new buffer, and nothing in between can run another decryption.
const blobScratch = Buffer.allocUnsafe(16 * 1024);

function decodeBlob(text: string): Buffer {
  if (text.length > (blobScratch.length * 4) / 3) return Buffer.from(text, 'base64url');
  return blobScratch.subarray(0, blobScratch.write(text, 0, 'base64url'));
}

/** Synchronous decryption with the key `parseCiphertext` named. Throws on any mismatch. */
export function decryptWith(dataKey: DataKey, parsed: ParsedCiphertext, aad: CipherAad): Buffer {
  if (dataKey.scope !== parsed.scope || dataKey.version !== parsed.version) {
    throw new CryptoError('decrypt_failed', 'A stored value could not be decrypted.');
  }
  const blob = decodeBlob(parsed.blob);
  if (blob.length < IV_BYTES + TAG_BYTES || !isCanonicalBase64url(parsed.blob, blob.length)) {
    throw new CryptoError('malformed_ciphertext', 'A stored value is not a Palisade ciphertext.');
  }
  const tagStart = blob.length - TAG_BYTES;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey.key, blob.subarray(0, IV_BYTES));
    decipher.setAAD(aadBytes(parsed.scope, parsed.version, aad));
    decipher.setAuthTag(blob.subarray(tagStart));
    const plaintext = decipher.update(blob.subarray(IV_BYTES, tagStart));
    decipher.final(); // throws on a wrong tag: the plaintext above is then never returned
    return plaintext;
  } catch {
    throw new CryptoError('decrypt_failed', 'A stored value could not be decrypted.');
  }
}

/** Encrypts synchronously under a key resolved beforehand (see Cipher.sealer). */
export type Sealer = (plaintext: string | Buffer, aad: CipherAad) => string;

export interface Cipher {
  sealer(scope: Scope): Promise<Sealer>;
  encrypt(plaintext: string | Buffer, aad: CipherAad, scope?: Scope): Promise<string>;
  tryEncryptSync(plaintext: string | Buffer, aad: CipherAad, scope?: Scope): string | undefined;
  decrypt(ciphertext: string, aad: CipherAad): Promise<string>;
  tryDecryptSync(ciphertext: string, aad: CipherAad): Buffer | undefined;
  decryptBytes(ciphertext: string, aad: CipherAad): Promise<Buffer>;
  reencrypt(ciphertext: string, aad: CipherAad): Promise<string | undefined>;
}

export function createCipher(deps: { keyring: Keyring }): Cipher {
  const { keyring } = deps;

  // With the key cached, nothing is awaited: one already-resolved promise instead of a chain.
  function decryptBytes(ciphertext: string, aad: CipherAad): Promise<Buffer> {
    try {
      const parsed = parseCiphertext(ciphertext, aad.orgId);
      const key = keyring.peek(parsed.scope, parsed.version);
      if (key !== undefined) return Promise.resolve(decryptWith(key, parsed, aad));
      return keyring.keyFor(parsed.scope, parsed.version).then((loaded) => decryptWith(loaded, parsed, aad));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  function tryDecryptSync(ciphertext: string, aad: CipherAad): Buffer | undefined {
    const parsed = parseCiphertext(ciphertext, aad.orgId);
    const key = keyring.peek(parsed.scope, parsed.version);
    return key === undefined ? undefined : decryptWith(key, parsed, aad);
  }

  return {
    /**
     * The scope's current key, resolved now, as a synchronous encrypter. For writes inside a
     * database transaction: loading a key there (a cache entry expired, a rotation evicted it)
     * would wait for a connection the transaction itself holds, and PGlite has only one.
     */
    async sealer(scope: Scope): Promise<Sealer> {
      const key = keyring.peekCurrent(scope) ?? (await keyring.currentKey(scope));
      return (plaintext, aad) => encryptWith(key, plaintext, aad);
    },

    /** `scope` defaults to the organisation key; pass a subject scope for shreddable content. */
    encrypt(plaintext: string | Buffer, aad: CipherAad, scope?: Scope): Promise<string> {
      try {
        const resolved = scope ?? orgScope(aad.orgId);
        const key = keyring.peekCurrent(resolved);
        if (key !== undefined) return Promise.resolve(encryptWith(key, plaintext, aad));
        return keyring.currentKey(resolved).then((loaded) => encryptWith(loaded, plaintext, aad));
      } catch (err) {
        return Promise.reject(err);
      }
    },

    /** Same as encrypt when the current key is cached; undefined means "call encrypt". */
    tryEncryptSync(plaintext: string | Buffer, aad: CipherAad, scope: Scope = orgScope(aad.orgId)): string | undefined {
      const key = keyring.peekCurrent(scope);
      return key === undefined ? undefined : encryptWith(key, plaintext, aad);
    },

    decrypt(ciphertext: string, aad: CipherAad): Promise<string> {
      try {
        const cached = tryDecryptSync(ciphertext, aad);
        if (cached !== undefined) return Promise.resolve(cached.toString('utf8'));
      } catch (err) {
        return Promise.reject(err);
      }
      return decryptBytes(ciphertext, aad).then((bytes) => bytes.toString('utf8'));
    },

    /** Same as decryptBytes when the key is cached; undefined means "call decrypt". */
    tryDecryptSync,

    decryptBytes,

    /** Re-encrypts under the scope's current version; undefined when it already is current. */
    async reencrypt(ciphertext: string, aad: CipherAad): Promise<string | undefined> {
      const parsed = parseCiphertext(ciphertext, aad.orgId);
      // latestKey never creates a key: re-encryption must not resurrect a shredded subject.
      const latest = await keyring.latestKey(parsed.scope);
      if (latest === undefined) throw new CryptoError('key_not_found', 'The data key for this content no longer exists.');
      if (parsed.version >= latest.version) return undefined;
      return encryptWith(latest, await decryptBytes(ciphertext, aad), aad);
    },
  };
}
