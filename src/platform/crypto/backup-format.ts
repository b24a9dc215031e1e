/**
 * The byte layout of an encrypted backup, and sealing/opening of one chunk:
 *
 *   header  "PLSDBAK" | format u8 | chunkSize u32 | noncePrefix 7 B
 *           | kekId length u8 | kekId | wrapped key length u16 | wrapped backup key
 *   chunk   final u8 (0|1) | length u32 | AES-256-GCM ciphertext | tag 16 B
 *
 * The chunks' plaintexts, joined, are the compressed payload. Format 2 (written now): blocks of
 * `length u32 | one Brotli stream`, each inflating to at most BLOCK_BYTES, so blocks compress and
 * inflate in parallel. Format 1 (still read): one gzip stream.
 *
 * Chunk i uses nonce noncePrefix | u32 i | final, and SHA-256(header) as associated data, so a
 * chunk moved, dropped, duplicated, or taken from another backup fails, and so does a stream
 * that ends without its final chunk. Owns the layout; must never emit unauthenticated bytes.
 */
import { createCipheriv, createDecipheriv, createHash, type KeyObject } from 'node:crypto';
import { CryptoError } from './errors.ts';

export const MAGIC = Buffer.from('PLSDBAK', 'latin1');
export const FORMAT_VERSION = 2;
/** Backups written before Brotli blocks: the payload is one gzip stream. */
export const GZIP_FORMAT_VERSION = 1;
/** Plaintext per compressed block (format 2); a block that inflates to more is refused. */
export const BLOCK_BYTES = 1024 * 1024;
export const BLOCK_HEADER_BYTES = 4;
// Brotli never grows a block by more than a few bytes; anything near this is not ours.
export const MAX_COMPRESSED_BLOCK = BLOCK_BYTES + 64 * 1024;
export const NONCE_PREFIX_BYTES = 7;
export const FRAME_HEADER_BYTES = 5;
export const TAG_BYTES = 16;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
const MAX_CHUNKS = 2 ** 32;

export interface BackupHeader {
  readonly chunkSize: number;
  readonly noncePrefix: Buffer;
  readonly kekId: string;
  readonly wrappedKey: Buffer;
}

export const backupKeyContext = (noncePrefix: Buffer): string => `palisade/backup/v1/${noncePrefix.toString('hex')}`;

export function encodeHeader(header: BackupHeader): Buffer {
  const kekId = Buffer.from(header.kekId, 'utf8');
  const fixed = Buffer.alloc(MAGIC.length + 1 + 4);
  MAGIC.copy(fixed);
  fixed.writeUInt8(FORMAT_VERSION, MAGIC.length);
  fixed.writeUInt32BE(header.chunkSize, MAGIC.length + 1);
  const kekLength = Buffer.from([kekId.length]);
  const wrappedLength = Buffer.alloc(2);
  wrappedLength.writeUInt16BE(header.wrappedKey.length);
  return Buffer.concat([fixed, header.noncePrefix, kekLength, kekId, wrappedLength, header.wrappedKey]);
}

export function corrupt(message = 'The backup is damaged or was altered; nothing was restored.'): CryptoError {
  return new CryptoError('backup_corrupt', message);
}

export function headerDigest(header: Buffer): Buffer {
  return createHash('sha256').update(header).digest();
}

function nonce(prefix: Buffer, index: number, final: boolean): Buffer {
  if (index >= MAX_CHUNKS) throw corrupt('The backup has too many chunks.');
  const value = Buffer.alloc(12);
  prefix.copy(value);
  value.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  value.writeUInt8(final ? 1 : 0, 11);
  return value;
}

export function sealChunk(key: KeyObject, prefix: Buffer, aad: Buffer, index: number, final: boolean, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce(prefix, index, final));
  cipher.setAAD(aad);
  const frame = Buffer.alloc(FRAME_HEADER_BYTES);
  frame.writeUInt8(final ? 1 : 0, 0);
  frame.writeUInt32BE(plaintext.length, 1);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([frame, body, cipher.getAuthTag()], FRAME_HEADER_BYTES + body.length + TAG_BYTES);
}

export function openChunk(key: KeyObject, prefix: Buffer, aad: Buffer, index: number, final: boolean, sealed: Buffer): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce(prefix, index, final));
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    decipher.final();
    return plaintext;
  } catch {
    throw corrupt();
  }
}

/** Exact-length reads over an async byte source; each byte is copied at most once. */
export class ByteReader {
  private pieces: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer | Uint8Array | string>;

  constructor(source: AsyncIterable<Buffer | Uint8Array | string>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Exactly `length` bytes, or undefined when the source ends first. */
  async read(length: number): Promise<Buffer | undefined> {
    while (this.buffered < length && !this.ended) {
      const next = await this.iterator.next();
      if (next.done === true) {
        this.ended = true;
        break;
      }
      this.push(next.value);
    }
    if (this.buffered < length) return undefined;
    const first = this.pieces[0];
    if (first !== undefined && first.length >= length) {
      // The common case once chunks are smaller than reads: no copy at all.
      if (first.length === length) this.pieces.shift();
      else this.pieces[0] = first.subarray(length);
      this.buffered -= length;
      return first.subarray(0, length);
    }
    const out = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const piece = this.pieces[0] as Buffer;
      const take = Math.min(piece.length, length - filled);
      piece.copy(out, filled, 0, take);
      filled += take;
      if (take === piece.length) this.pieces.shift();
      else this.pieces[0] = piece.subarray(take);
    }
    this.buffered -= length;
    return out;
  }

  /** True once the source has ended and every byte was read; consumes nothing. */
  async atEnd(): Promise<boolean> {
    while (this.buffered === 0 && !this.ended) {
      const next = await this.iterator.next();
      if (next.done === true) this.ended = true;
      else this.push(next.value);
    }
    return this.buffered === 0;
  }

  private push(value: Buffer | Uint8Array | string): void {
    const piece = typeof value === 'string' ? Buffer.from(value, 'latin1') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.buffered += piece.length;
  }
}
