import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { decryptBackup, encryptBackup, verifyBackup } from './backup-stream.ts';
import { ByteReader, FRAME_HEADER_BYTES, headerDigest, openChunk, TAG_BYTES } from './backup-format.ts';
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

test('several megabytes compress as parallel gzip members that any gunzip reads in order', async () => {
  // Distinct, compressible blocks: a member out of order or lost would show in the comparison.
  const blocks = Array.from({ length: 9 }, (_, i) => Buffer.from(`block ${i} `.repeat(70_000) + randomBytes(3000).toString('hex')));
  const data = Buffer.concat(blocks);
  const file = await collect(encryptBackup({ kms, chunkSize: 64 * 1024 })(Readable.from(blocks)));
  assert.ok(file.length < data.length / 4, 'compressed');
  assert.deepEqual(await decrypt(file), data);
  const gzipped = await collect(decryptBackupRawGzip(file));
  assert.deepEqual(gunzipSync(gzipped), data, 'the payload is one standard gzip stream');
});

/** The sealed gzip bytes, opened chunk by chunk without gunzip (for the test above). */
async function* decryptBackupRawGzip(file: Buffer): AsyncGenerator<Buffer> {
  const reader = new ByteReader(Readable.from([file]));
  const fixed = (await reader.read(7 + 1 + 4 + 7 + 1)) as Buffer;
  const kekLength = fixed.readUInt8(fixed.length - 1);
  const rest = (await reader.read(kekLength + 2)) as Buffer;
  const wrapped = (await reader.read(rest.readUInt16BE(kekLength))) as Buffer;
  const prefix = fixed.subarray(12, 19);
  const key = createSecretKey(await kms.unwrap(wrapped, `palisade/backup/v1/${prefix.toString('hex')}`));
  const aad = headerDigest(Buffer.concat([fixed, rest, wrapped]));
  for (let index = 0; ; index += 1) {
    const frame = (await reader.read(FRAME_HEADER_BYTES)) as Buffer;
    const sealed = (await reader.read(frame.readUInt32BE(1) + TAG_BYTES)) as Buffer;
    yield openChunk(key, prefix, aad, index, frame.readUInt8(0) === 1, sealed);
    if (frame.readUInt8(0) === 1) return;
  }
}
