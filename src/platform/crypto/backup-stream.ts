/**
 * Encrypted backup streams, as async generator functions for `stream.pipeline`:
 *
 *   await pipeline(snapshotReadable, encryptBackup({ kms }), createWriteStream(file))
 *   await pipeline(createReadStream(file), decryptBackup({ kms }), restoreWriter)
 *
 * The payload is gzip-compressed, then sealed chunk by chunk (see backup-format.ts) under a
 * fresh backup key wrapped by the KEK. Decryption yields only authenticated bytes, but it can
 * only know that nothing was cut off once the final chunk has arrived: the caller must restore
 * inside one transaction and commit only after the pipeline resolves; any error means roll back.
 * Owns the streaming; must never yield plaintext from a chunk that failed authentication.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { createGunzip, gzip, type ZlibOptions } from 'node:zlib';
import * as format from './backup-format.ts';
import { CryptoError, isCryptoError } from './errors.ts';
import type { Kms } from './kms.ts';

// Big chunks: fewer tags, frames and writes; a reader holds at most one (16 MiB is the limit).
const DEFAULT_CHUNK_SIZE = 1024 * 1024;
// zlib's output pieces (default 16 KiB): larger ones mean fewer round trips to its thread.
const ZLIB_CHUNK = 256 * 1024;
const COMPRESS_BLOCK = 1024 * 1024;
// At least two, so compression overlaps with sealing even on one core; libuv's pool has four.
const COMPRESS_PARALLEL = Math.max(2, Math.min(4, availableParallelism()));
const gzipAsync = promisify(gzip) as (input: Buffer, options: ZlibOptions) => Promise<Buffer>;

export type ByteSource = AsyncIterable<Buffer | Uint8Array | string>;
export type BackupTransform = (source: ByteSource) => AsyncGenerator<Buffer>;

export interface EncryptBackupOptions {
  kms: Kms;
  /** Plaintext bytes per sealed chunk (default 1 MiB). */
  chunkSize?: number;
  /** gzip level 1..9 (default 4: most of level 6's ratio at roughly twice the speed). */
  gzipLevel?: number;
}

export function encryptBackup(options: EncryptBackupOptions): BackupTransform {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > format.MAX_CHUNK_SIZE) {
    throw new RangeError('chunkSize must be between 1 byte and 16 MiB.');
  }
  return async function* encrypt(source: ByteSource): AsyncGenerator<Buffer> {
    const raw = randomBytes(32);
    const noncePrefix = randomBytes(format.NONCE_PREFIX_BYTES);
    const wrappedKey = await options.kms.wrap(raw, format.backupKeyContext(noncePrefix));
    const key = createSecretKey(raw);
    raw.fill(0);
    const header = format.encodeHeader({ chunkSize, noncePrefix, kekId: options.kms.keyId, wrappedKey });
    const aad = format.headerDigest(header);
    yield header;

    let index = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const piece of compress(source, options.gzipLevel ?? 4)) {
      pending.push(piece);
      pendingBytes += piece.length;
      // Strictly greater: the last full chunk is held back until we know whether it is final.
      if (pendingBytes <= chunkSize) continue;
      const all = Buffer.concat(pending, pendingBytes);
      let offset = 0;
      while (all.length - offset > chunkSize) {
        yield format.sealChunk(key, noncePrefix, aad, index++, false, all.subarray(offset, offset + chunkSize));
        offset += chunkSize;
      }
      pending = [all.subarray(offset)];
      pendingBytes = all.length - offset;
    }
    yield format.sealChunk(key, noncePrefix, aad, index, true, Buffer.concat(pending, pendingBytes));
  };
}

/**
 * gzip, several blocks at once: the input is cut into blocks of about COMPRESS_BLOCK bytes, each
 * compressed as its own gzip member on libuv's thread pool (COMPRESS_PARALLEL at a time) while
 * this thread seals and writes. Concatenated members are one gzip stream (RFC 1952, 2.2) that
 * any gunzip reads, the one in decryptBackup included. Members come out in input order.
 */
async function* compress(source: ByteSource, level: number): AsyncGenerator<Buffer> {
  const inFlight: Array<Promise<Buffer>> = [];
  let block: Buffer[] = [];
  let blockBytes = 0;
  let members = 0;
  const submit = (): void => {
    const input = block.length === 1 ? (block[0] as Buffer) : Buffer.concat(block, blockBytes);
    const member = gzipAsync(input, { level, chunkSize: ZLIB_CHUNK });
    member.catch(() => undefined); // awaited below, in order
    inFlight.push(member);
    members += 1;
    block = [];
    blockBytes = 0;
  };
  for await (const value of source) {
    const piece = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (piece.length === 0) continue;
    block.push(piece);
    blockBytes += piece.length;
    if (blockBytes >= COMPRESS_BLOCK) submit();
    while (inFlight.length >= COMPRESS_PARALLEL) yield await (inFlight.shift() as Promise<Buffer>);
  }
  if (blockBytes > 0 || members === 0) submit(); // an empty snapshot is still one (empty) member
  while (inFlight.length > 0) yield await (inFlight.shift() as Promise<Buffer>);
}

export function decryptBackup(options: { kms: Kms }): BackupTransform {
  return async function* decrypt(source: ByteSource): AsyncGenerator<Buffer> {
    const reader = new format.ByteReader(source);
    const { key, header, chunkSize, noncePrefix } = await readHeader(reader, options.kms);
    const aad = format.headerDigest(header);

    async function* chunks(): AsyncGenerator<Buffer> {
      for (let index = 0; ; index += 1) {
        const frame = await reader.read(format.FRAME_HEADER_BYTES);
        if (frame === undefined) throw truncated();
        const flag = frame.readUInt8(0);
        const length = frame.readUInt32BE(1);
        if (flag > 1 || length > chunkSize || (flag === 0 && length !== chunkSize)) throw format.corrupt();
        const sealed = await reader.read(length + format.TAG_BYTES);
        if (sealed === undefined) throw truncated();
        yield format.openChunk(key, noncePrefix, aad, index, flag === 1, sealed);
        if (flag === 1) {
          if (!(await reader.atEnd())) throw format.corrupt('The backup has bytes after its end; nothing was restored.');
          return;
        }
      }
    }

    const gunzip = createGunzip({ chunkSize: ZLIB_CHUNK });
    const feeding = pipeline(chunks(), gunzip);
    feeding.catch(() => undefined); // surfaces through the iteration below
    try {
      for await (const piece of gunzip as AsyncIterable<Buffer>) yield piece;
      await feeding;
    } catch (err) {
      // zlib only ever sees authenticated bytes, so its errors mean a bad writer, still corrupt.
      throw isCryptoError(err) ? err : format.corrupt();
    } finally {
      gunzip.destroy();
    }
  };
}

const truncated = (): CryptoError => new CryptoError('backup_truncated', 'The backup ends early; nothing was restored.');

/** Reads a whole backup and checks every chunk without keeping anything: `backup verify`. */
export async function verifyBackup(source: ByteSource, options: { kms: Kms }): Promise<{ bytes: number }> {
  let bytes = 0;
  for await (const piece of decryptBackup(options)(source)) bytes += piece.length;
  return { bytes };
}

async function readHeader(reader: format.ByteReader, kms: Kms): Promise<{
  key: KeyObject; header: Buffer; chunkSize: number; noncePrefix: Buffer;
}> {
  const fixedLength = format.MAGIC.length + 1 + 4 + format.NONCE_PREFIX_BYTES + 1;
  const fixed = await reader.read(fixedLength);
  if (fixed === undefined || !fixed.subarray(0, format.MAGIC.length).equals(format.MAGIC)) {
    throw format.corrupt('This is not a Palisade backup.');
  }
  if (fixed.readUInt8(format.MAGIC.length) !== format.FORMAT_VERSION) throw format.corrupt('This backup format version is not supported.');
  const chunkSize = fixed.readUInt32BE(format.MAGIC.length + 1);
  if (chunkSize < 1 || chunkSize > format.MAX_CHUNK_SIZE) throw format.corrupt();
  const noncePrefix = Buffer.from(fixed.subarray(format.MAGIC.length + 5, format.MAGIC.length + 5 + format.NONCE_PREFIX_BYTES));
  const kekLength = fixed.readUInt8(fixedLength - 1);
  const kekAndLength = await reader.read(kekLength + 2);
  if (kekAndLength === undefined) throw format.corrupt();
  const wrappedLength = kekAndLength.readUInt16BE(kekLength);
  const wrappedKey = await reader.read(wrappedLength);
  if (wrappedKey === undefined) throw format.corrupt();
  const header = Buffer.concat([fixed, kekAndLength, wrappedKey]);
  // Unknown KEK or a wrong master key: CryptoError 'unknown_kek' / 'unwrap_failed' from the KMS.
  const raw = await kms.unwrap(wrappedKey, format.backupKeyContext(noncePrefix));
  const key = createSecretKey(raw);
  raw.fill(0);
  return { key, header, chunkSize, noncePrefix };
}
