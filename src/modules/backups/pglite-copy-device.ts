/**
 * A character device in PGlite's (Emscripten) file system for COPY … TO and FROM, so table data
 * crosses between JavaScript and the WASM heap in whole buffers. PGlite's own '/dev/blob' copies
 * byte by byte in JavaScript when read and keeps one small array per row when written, which
 * costs about as much CPU as the COPY itself; a MEMFS file grows by an eighth per write and
 * copies itself each time. This is the mechanism '/dev/blob' uses (FS.registerDevice), with
 * buffers that only grow. One device per instance, used by one statement at a time (a backup
 * session runs its statements one after another). Owns this device; must never hold bytes past
 * the statement that read or wrote them.
 */
import type { PGlite } from '@electric-sql/pglite';

/** Bytes a COPY … TO writes arrive in pieces of this size (the last one shorter). */
const PIECE_BYTES = 1024 * 1024;
const DEVICE_PATH = '/dev/palisade-copy';

type Heap = Int8Array | Uint8Array;
interface Stream {
  position: number;
}
interface DeviceOps {
  open(stream: Stream): void;
  close(stream: Stream): void;
  read(stream: Stream, heap: Heap, offset: number, length: number, position: number): number;
  write(stream: Stream, heap: Heap, offset: number, length: number, position: number): number;
  llseek(stream: Stream, offset: number, whence: number): number;
}
interface EmscriptenFs {
  makedev(major: number, minor: number): number;
  getDevice(dev: number): unknown;
  registerDevice(dev: number, ops: DeviceOps): void;
  mkdev(path: string, dev: number): void;
}

export interface CopyDevice {
  /** Where COPY reads or writes: `COPY … TO '<path>'`. */
  readonly path: string;
  /** Runs a COPY … TO this device; resolves with its result and every byte it wrote. */
  collect<T>(statement: () => Promise<T>): Promise<{ result: T; pieces: Buffer[] }>;
  /** Runs a COPY … FROM this device, which reads `pieces` one after another. */
  feed<T>(pieces: Buffer[], statement: () => Promise<T>): Promise<T>;
}

const devices = new WeakMap<PGlite, CopyDevice>();

export function copyDevice(pglite: PGlite): CopyDevice {
  const known = devices.get(pglite);
  if (known !== undefined) return known;
  // What a COPY … FROM reads: pieces in order, with where the last read stopped (reads are sequential).
  let source: { pieces: Buffer[]; length: number; index: number; start: number } | undefined;
  let sink: { pieces: Buffer[]; current: Buffer; used: number } | undefined;

  const ops: DeviceOps = {
    open: () => undefined,
    close: () => undefined,
    read(_stream, heap, offset, length, position) {
      if (source === undefined) throw new Error('No COPY is reading from the backup device.');
      if (position < source.start) Object.assign(source, { index: 0, start: 0 });
      const out = new Uint8Array(heap.buffer, heap.byteOffset + offset, length);
      let filled = 0;
      while (filled < length && source.index < source.pieces.length) {
        const piece = source.pieces[source.index] as Buffer;
        const from = position + filled - source.start;
        if (from >= piece.length) {
          source.start += piece.length;
          source.index += 1;
          continue;
        }
        const take = Math.min(length - filled, piece.length - from);
        out.set(piece.subarray(from, from + take), filled);
        filled += take;
      }
      return filled;
    },
    write(_stream, heap, offset, length) {
      if (sink === undefined) throw new Error('No COPY is writing to the backup device.');
      // A view of the same bytes type: set() is then a plain memory copy.
      const bytes = new Uint8Array(heap.buffer, heap.byteOffset + offset, length);
      for (let done = 0; done < length; ) {
        if (sink.used === sink.current.length) {
          sink.pieces.push(sink.current);
          sink.current = Buffer.allocUnsafe(PIECE_BYTES);
          sink.used = 0;
        }
        const take = Math.min(length - done, sink.current.length - sink.used);
        sink.current.set(bytes.subarray(done, done + take), sink.used);
        sink.used += take;
        done += take;
      }
      return length;
    },
    llseek(stream, offset, whence) {
      const position = whence === 1 ? stream.position + offset : whence === 2 ? (source?.length ?? 0) + offset : offset;
      if (position < 0) throw new Error('Seek before the start of the backup device.');
      return position;
    },
  };

  const fs = pglite.Module.FS as unknown as EmscriptenFs;
  let major = 200;
  while (fs.getDevice(fs.makedev(major, 0)) !== undefined) major += 1;
  const dev = fs.makedev(major, 0);
  fs.registerDevice(dev, ops);
  fs.mkdev(DEVICE_PATH, dev);

  const device: CopyDevice = {
    path: DEVICE_PATH,
    async collect(statement) {
      sink = { pieces: [], current: Buffer.allocUnsafe(PIECE_BYTES), used: 0 };
      try {
        const result = await statement();
        const pieces = sink.pieces;
        if (sink.used > 0) pieces.push(sink.current.subarray(0, sink.used));
        return { result, pieces };
      } finally {
        sink = undefined;
      }
    },
    async feed(pieces, statement) {
      source = { pieces, length: pieces.reduce((sum, piece) => sum + piece.length, 0), index: 0, start: 0 };
      try {
        return await statement();
      } finally {
        source = undefined;
      }
    },
  };
  devices.set(pglite, device);
  return device;
}
