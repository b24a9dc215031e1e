/**
 * Encrypted backup streams, as async generator functions for `stream.pipeline`:
 *
 *   await pipeline(snapshotReadable, encryptBackup({ kms }), createWriteStream(file))
 *   await pipeline(createReadStream(file), decryptBackup({ kms }), restoreWriter)
 *
 * The payload is compressed in Brotli blocks (see backup-format.ts), then sealed chunk by chunk
 * under a fresh backup key wrapped by the KEK. Decryption yields only authenticated bytes, but it
 * can only know that nothing was cut off once the final chunk has arrived: the caller must restore
 * inside one transaction and commit only after the pipeline resolves; any error means roll back.
 * Owns the streaming; must never yield plaintext from a chunk that failed authentication.
 */
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants, createGunzip, type BrotliOptions } from 'node:zlib';
import * as format from './backup-format.ts';
import { CryptoError, isCryptoError } from './errors.ts';
import type { Kms } from './kms.ts';

// Big chunks: fewer tags, frames and writes; a reader holds at most one (16 MiB is the limit).
const DEFAULT_CHUNK_SIZE = 1024 * 1024;
// zlib's output pieces (default 16 KiB): larger ones mean fewer round trips to its thread.
const ZLIB_CHUNK = 256 * 1024;
// Blocks are (de)compressed on libuv's thread pool. The database side often holds the main thread
// for a whole batch (PGlite runs COPY in it, a few MiB at a time): this many blocks queued keeps the
// pool busy meanwhile, so compression overlaps the database instead of following it.
const BLOCKS_IN_FLIGHT = 16;
// Quality 1: several times gzip -1's speed at a smaller size on table data (bench/backup.ts).
const DEFAULT_QUALITY = 1;
const brotliCompressAsync = promisify(brotliCompress) as (input: Buffer, options: BrotliOptions) => Promise<Buffer>;
const brotliDecompressAsync = promisify(brotliDecompress) as (input: Buffer, options: BrotliOptions) => Promise<Buffer>;

export type ByteSource = AsyncIterable<Buffer | Uint8Array | string>;
export type BackupTransform = (source: ByteSource) => AsyncGenerator<Buffer>;

export interface EncryptBackupOptions {
  kms: Kms;
  /** Plaintext bytes per sealed chunk (default 1 MiB). */
  chunkSize?: number;
  /** Brotli quality 0..11 (default 1). */
  quality?: number;
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
    for await (const piece of compress(source, options.quality ?? DEFAULT_QUALITY)) {
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

/** Exactly BLOCK_BYTES at a time (the last block shorter), without copying where a piece allows. */
async function* blocks(source: ByteSource): AsyncGenerator<Buffer> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const value of source) {
    let piece = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    while (heldBytes + piece.length >= format.BLOCK_BYTES) {
      const take = format.BLOCK_BYTES - heldBytes;
      yield heldBytes === 0 ? piece.subarray(0, take) : Buffer.concat([...held, piece.subarray(0, take)], format.BLOCK_BYTES);
      held = [];
      heldBytes = 0;
      piece = piece.subarray(take);
    }
    if (piece.length > 0) {
      held.push(piece);
      heldBytes += piece.length;
    }
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

/** Format 2's payload: each block a Brotli stream behind its length, in input order. */
async function* compress(source: ByteSource, quality: number): AsyncGenerator<Buffer> {
  const inFlight: Array<Promise<Buffer>> = [];
  for await (const block of blocks(source)) {
    const compressed = brotliCompressAsync(block, {
      chunkSize: ZLIB_CHUNK,
      // A window of one block (2^20) covers it whole and sets up faster than the default 4 MiB.
      params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_LGWIN]: 20, [constants.BROTLI_PARAM_SIZE_HINT]: block.length },
    });
    compressed.catch(() => undefined); // awaited below, in order
    inFlight.push(compressed);
    while (inFlight.length >= BLOCKS_IN_FLIGHT) yield* framed(await (inFlight.shift() as Promise<Buffer>));
  }
  while (inFlight.length > 0) yield* framed(await (inFlight.shift() as Promise<Buffer>));
}

function* framed(compressed: Buffer): Generator<Buffer> {
  const length = Buffer.alloc(format.BLOCK_HEADER_BYTES);
  length.writeUInt32BE(compressed.length);
  yield length;
  yield compressed;
}

/** Inverse of compress(): blocks inflate on the thread pool, several at once, yielded in order. */
async function* decompress(payload: ByteSource): AsyncGenerator<Buffer> {
  const reader = new format.ByteReader(payload);
  const inFlight: Array<Promise<Buffer>> = [];
  while (!(await reader.atEnd())) {
    const header = await reader.read(format.BLOCK_HEADER_BYTES);
    const length = header?.readUInt32BE(0) ?? 0;
    if (length < 1 || length > format.MAX_COMPRESSED_BLOCK) throw format.corrupt();
    const compressed = await reader.read(length);
    if (compressed === undefined) throw format.corrupt();
    // Authenticated bytes that do not inflate to one block at most were written by a bad writer.
    // One output buffer as large as a block can be: zlib then hands it over without joining pieces.
    const block = brotliDecompressAsync(compressed, { chunkSize: format.BLOCK_BYTES, maxOutputLength: format.BLOCK_BYTES }).catch(() => {
      throw format.corrupt();
    });
    block.catch(() => undefined); // awaited below, in order
    inFlight.push(block);
    while (inFlight.length >= BLOCKS_IN_FLIGHT) yield await (inFlight.shift() as Promise<Buffer>);
  }
  while (inFlight.length > 0) yield await (inFlight.shift() as Promise<Buffer>);
}

/** Format 1's payload: one gzip stream (concatenated members). */
async function* gunzip(payload: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const inflater = createGunzip({ chunkSize: ZLIB_CHUNK });
  const feeding = pipeline(payload, inflater);
  feeding.catch(() => undefined); // surfaces through the iteration below
  try {
    for await (const piece of inflater as AsyncIterable<Buffer>) yield piece;
    await feeding;
  } catch (err) {
    // zlib only ever sees authenticated bytes, so its errors mean a bad writer, still corrupt.
    throw isCryptoError(err) ? err : format.corrupt();
  } finally {
    inflater.destroy();
  }
}

export function decryptBackup(options: { kms: Kms }): BackupTransform {
  return async function* decrypt(source: ByteSource): AsyncGenerator<Buffer> {
    const reader = new format.ByteReader(source);
    const { key, header, chunkSize, noncePrefix, version } = await readHeader(reader, options.kms);
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

    yield* version === format.GZIP_FORMAT_VERSION ? gunzip(chunks()) : decompress(chunks());
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
  key: KeyObject; header: Buffer; chunkSize: number; noncePrefix: Buffer; version: number;
}> {
  const fixedLength = format.MAGIC.length + 1 + 4 + format.NONCE_PREFIX_BYTES + 1;
  const fixed = await reader.read(fixedLength);
  if (fixed === undefined || !fixed.subarray(0, format.MAGIC.length).equals(format.MAGIC)) {
    throw format.corrupt('This is not a Palisade backup.');
  }
  const version = fixed.readUInt8(format.MAGIC.length);
  if (version !== format.FORMAT_VERSION && version !== format.GZIP_FORMAT_VERSION) throw format.corrupt('This backup format version is not supported.');
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
  return { key, header, chunkSize, noncePrefix, version };
}
