import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { brotliCompressSync, brotliDecompressSync } from 'node:zlib';
import { decryptBackup, encryptBackup, verifyBackup } from './backup-stream.ts';
import { BLOCK_BYTES, ByteReader, FRAME_HEADER_BYTES, headerDigest, openChunk, sealChunk, TAG_BYTES } from './backup-format.ts';
import { createLocalKms } from './kms.ts';
import { isCryptoError } from './errors.ts';

const master = randomBytes(32);
const kms = createLocalKms(master);

function sampleData(): Buffer {
  const rows = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `msg_${i}`, body: `hello ${i}`, n: i }));
  return Buffer.concat([Buffer.from(rows.join('\n')), randomBytes(1500)]);
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

async function encrypt(data: Buffer, chunkSize = 256): Promise<Buffer> {
  return collect(encryptBackup({ kms, chunkSize })(Readable.from([data.subarray(0, 700), data.subarray(700)])));
}

async function decrypt(file: Buffer, withKms = kms): Promise<Buffer> {
  // Feed in odd-sized pieces so frame parsing never relies on read boundaries.
  const pieces: Buffer[] = [];
  for (let i = 0; i < file.length; i += 333) pieces.push(file.subarray(i, i + 333));
  return collect(decryptBackup({ kms: withKms })(Readable.from(pieces)));
}

/** Splits a backup into its header and its framed chunks. */
function frames(file: Buffer): { header: Buffer; chunks: Buffer[] } {
  const kekLength = file.readUInt8(19);
  let offset = 20 + kekLength;
  const wrappedLength = file.readUInt16BE(offset);
  offset += 2 + wrappedLength;
  const header = file.subarray(0, offset);
  const chunks: Buffer[] = [];
  while (offset < file.length) {
    const end = offset + FRAME_HEADER_BYTES + file.readUInt32BE(offset + 1) + TAG_BYTES;
    chunks.push(file.subarray(offset, end));
    offset = end;
  }
  return { header, chunks };
}

const refused = (e: unknown): boolean => isCryptoError(e);

test('round-trips through stream.pipeline, including empty input and default chunk size', async () => {
  const data = sampleData();
  const file = await encrypt(data);
  assert.ok(frames(file).chunks.length > 4);
  assert.deepEqual(await decrypt(file), data);
  assert.deepEqual(await decrypt(await encrypt(Buffer.alloc(0))), Buffer.alloc(0));

  const out: Buffer[] = [];
  const big = Buffer.from('{"k":"v"}\n'.repeat(50_000));
  await pipeline(Readable.from([big]), encryptBackup({ kms }), decryptBackup({ kms }), async (source: AsyncIterable<Buffer>) => {
    for await (const part of source) out.push(part);
  });
  assert.deepEqual(Buffer.concat(out), big);
  assert.deepEqual(await verifyBackup(Readable.from([await encrypt(data)]), { kms }), { bytes: data.length });
});

test('a flipped bit anywhere in the file is refused', async () => {
  const file = await encrypt(sampleData(), 1024);
  // Every byte of the header, the first frame and the tail; a stride through the rest keeps it quick.
  const positions = [...file.keys()].filter((i) => i < 200 || i >= file.length - 40 || i % 5 === 0);
  for (const i of positions) {
    const tampered = Buffer.from(file);
    tampered.writeUInt8(tampered.readUInt8(i) ^ 0x01, i);
    await assert.rejects(decrypt(tampered), refused, `byte ${i}`);
  }
});

test('truncation at any chunk boundary or inside a chunk is refused', async () => {
  const file = await encrypt(sampleData());
  const { header, chunks } = frames(file);
  for (let n = 0; n < chunks.length; n += 1) {
    await assert.rejects(decrypt(Buffer.concat([header, ...chunks.slice(0, n)])), (e) => isCryptoError(e, 'backup_truncated'));
  }
  await assert.rejects(decrypt(file.subarray(0, file.length - 1)), refused);
  await assert.rejects(decrypt(header.subarray(0, 10)), refused);
});

test('reordered, dropped, duplicated or foreign chunks and trailing bytes are refused', async () => {
  const file = await encrypt(sampleData());
  const { header, chunks } = frames(file);
  const [c0, c1, ...rest] = chunks;
  assert.ok(c0 && c1);
  const other = frames(await encrypt(sampleData()));
  const cases: Record<string, Buffer[]> = {
    swapped: [header, c1, c0, ...rest],
    dropped: [header, c0, ...rest],
    duplicated: [header, c0, c0, c1, ...rest],
    appendedChunk: [header, ...chunks, c1],
    trailingByte: [header, ...chunks, Buffer.from([0])],
    foreignChunk: [header, other.chunks[0] ?? Buffer.alloc(0), c1, ...rest],
    foreignHeader: [other.header, ...chunks],
  };
  for (const [name, parts] of Object.entries(cases)) {
    await assert.rejects(decrypt(Buffer.concat(parts)), refused, name);
  }
});

test('a wrong or unknown master key is refused before any output', async () => {
  const file = await encrypt(sampleData());
  await assert.rejects(decrypt(file, createLocalKms(randomBytes(32))), (e) => isCryptoError(e, 'unknown_kek'));
  await assert.rejects(decrypt(file, createLocalKms(randomBytes(32), kms.keyId)), (e) => isCryptoError(e, 'unwrap_failed'));
  // After rotate-master, old backups still restore while the previous key is configured.
  const rotated = createLocalKms(randomBytes(32), undefined, [{ key: master }]);
  assert.deepEqual(await decrypt(file, rotated), await decrypt(file));
});

test('contract: a restore that commits only after the stream ends writes nothing from a cut file', async () => {
  const file = await encrypt(sampleData());
  const committed: Buffer[] = [];
  const restore = async (backup: Buffer): Promise<void> => {
    const staged: Buffer[] = []; // stands in for one open transaction
    await pipeline(Readable.from([backup]), decryptBackup({ kms }), async (source: AsyncIterable<Buffer>) => {
      for await (const part of source) staged.push(part);
    });
    committed.push(...staged);
  };
  await assert.rejects(restore(file.subarray(0, file.length - 40)), refused);
  assert.equal(committed.length, 0);
});

test('several megabytes compress as parallel Brotli blocks that come back in order', async () => {
  // Distinct, compressible blocks: a block out of order or lost would show in the comparison.
  const blocks = Array.from({ length: 9 }, (_, i) => Buffer.from(`block ${i} `.repeat(70_000) + randomBytes(3000).toString('hex')));
  const data = Buffer.concat(blocks);
  const file = await collect(encryptBackup({ kms, chunkSize: 64 * 1024 })(Readable.from(blocks)));
  assert.ok(file.length < data.length / 4, 'compressed');
  assert.deepEqual(await decrypt(file), data);
  const payload = await collect(openPayload(file));
  const inflated: Buffer[] = [];
  for (let offset = 0; offset < payload.length; ) {
    const length = payload.readUInt32BE(offset);
    inflated.push(brotliDecompressSync(payload.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  assert.equal(inflated.length, Math.ceil(data.length / BLOCK_BYTES), 'one standard Brotli stream per block');
  assert.deepEqual(Buffer.concat(inflated), data);
});

test('incompressible data round-trips in blocks barely larger than it', async () => {
  const data = randomBytes(2 * BLOCK_BYTES + 12_345);
  const file = await collect(encryptBackup({ kms })(Readable.from([data])));
  assert.ok(file.length < data.length + 4096);
  assert.deepEqual(await decrypt(file), data);
});

test('a block that does not inflate, or inflates past its size, is refused', async () => {
  const frame = (body: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    return Buffer.concat([length, body]);
  };
  const cases: Record<string, Buffer> = {
    garbage: frame(Buffer.from('not brotli')),
    tooLarge: frame(brotliCompressSync(Buffer.alloc(BLOCK_BYTES + 1))),
    cutHeader: Buffer.concat([frame(brotliCompressSync(Buffer.from('ok'))), Buffer.from([0, 0])]),
    zeroLength: Buffer.from([0, 0, 0, 0]),
  };
  for (const [name, payload] of Object.entries(cases)) await assert.rejects(decrypt(await sealPayload(payload)), (e) => isCryptoError(e, 'backup_corrupt'), name);
});

// Written by the gzip-era encoder (container format 1) under Buffer.alloc(32, 7), key id 'legacy'.
const GZIP_ERA_BACKUP = 'UExTREJBSwEAAAEA3MTa+sCqZQZsZWdhY3kARAEGbGVnYWN5ylpoNeziBjKJU58+MMMNle5IU/nVLjDv5vKgBCAm0GaI0WVmbCbX4bkl3HBZLdrHmEK/9VpsfGmFgWl4AAAAAQAXItR2uxDmAvAJejY3eNP6z47AO32neZQqc1QACOG2UN1XmCPQpIxG+FEKt8eVAjJPe0ITdbabcK23WxM0n3ZkDLsiKUlJxnCus9pGynnZRFlm2ve1hr2ySefM3nOfnP/Pp5OGDY/5INZRYcQXgK4wvaqMuBW4oLFKtx2Q45pxG4RVeKA4RHWp0ESjj3Y8ZR/xNNAYwS1vSlTlAVNlhq0vQXYsCXG5Ufs7Kud1HoKkVWqSv21+AHuInFSfnXA2CPdb5OjudsO1cTU6IiVsfCnIv5yaCAUCnPdtUIO/8O+5dnH8M379BuT9Au2P9Yd+mUh/7XQXrfgvsG1RM0jK3wxGG4A8W0PM60jE7zZsz9p2lAEAAAAup6KT3uyZQq4MtCRmbb1cvqA7tjQexz+mcmMY/Qnty51JWTlG0Fr8xnUs9CW/f+2CncyAkmjcw3v4LI5viTA=';

test('a format-1 (gzip) backup of an earlier version still decrypts', async () => {
  const legacy = createLocalKms(Buffer.alloc(32, 7), 'legacy');
  const expected = Buffer.from(Array.from({ length: 60 }, (_, i) => `row ${i}\tgzip-era backup\t${'x'.repeat(i)}`).join('\n'));
  assert.deepEqual(await decrypt(Buffer.from(GZIP_ERA_BACKUP, 'base64'), legacy), expected);
  const flipped = Buffer.from(GZIP_ERA_BACKUP, 'base64');
  flipped[flipped.length - 20] = (flipped[flipped.length - 20] ?? 0) ^ 1;
  await assert.rejects(decrypt(flipped, legacy), refused);
});

/** A backup's key and the means to open or seal its chunks, read from its header. */
async function openHeader(file: Buffer): Promise<{ reader: ByteReader; header: Buffer; key: KeyObject; prefix: Buffer; aad: Buffer }> {
  const reader = new ByteReader(Readable.from([file]));
  const fixed = (await reader.read(7 + 1 + 4 + 7 + 1)) as Buffer;
  const kekLength = fixed.readUInt8(fixed.length - 1);
  const rest = (await reader.read(kekLength + 2)) as Buffer;
  const wrapped = (await reader.read(rest.readUInt16BE(kekLength))) as Buffer;
  const prefix = fixed.subarray(12, 19);
  const key = createSecretKey(await kms.unwrap(wrapped, `palisade/backup/v1/${prefix.toString('hex')}`));
  const header = Buffer.concat([fixed, rest, wrapped]);
  return { reader, header, key, prefix, aad: headerDigest(header) };
}

/** The sealed payload (compressed blocks), opened chunk by chunk without inflating it. */
async function* openPayload(file: Buffer): AsyncGenerator<Buffer> {
  const { reader, key, prefix, aad } = await openHeader(file);
  for (let index = 0; ; index += 1) {
    const frame = (await reader.read(FRAME_HEADER_BYTES)) as Buffer;
    const sealed = (await reader.read(frame.readUInt32BE(1) + TAG_BYTES)) as Buffer;
    yield openChunk(key, prefix, aad, index, frame.readUInt8(0) === 1, sealed);
    if (frame.readUInt8(0) === 1) return;
  }
}

/** A correctly sealed backup around an arbitrary payload: what a buggy writer could produce. */
async function sealPayload(payload: Buffer): Promise<Buffer> {
  const { header, key, prefix, aad } = await openHeader(await encrypt(Buffer.alloc(0)));
  return Buffer.concat([header, sealChunk(key, prefix, aad, 0, true, payload)]);
}
