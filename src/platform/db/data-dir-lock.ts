/**
 * One process at a time on an embedded database directory. PGlite does not lock its files, and a
 * second process writing the same directory (a command run while the server is up) can lose
 * writes or corrupt it. The lock file names its holder: pid, boot and the process's start time
 * (Linux), so a lock left by a process that has ended — killed, crashed, or from an earlier boot
 * of a container whose server always gets the same pid — is taken over, while a live holder is
 * named in the refusal. A holder in another PID namespace (another container sharing the data
 * volume) or of another boot cannot be looked up from here: the holder refreshes the file's time
 * while it runs, and such a lock stands until it has gone unrefreshed for SILENT_MS (a crashed
 * container's lock is then taken over by its restart). The file is created whole, atomically
 * (written aside, then linked in), and a stale one is removed only if it is still that one.
 */
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Directories this process holds: its own pid in a lock is stale unless listed here. */
const held = new Set<string>();

/**
 * How often a holder refreshes its lock's time, and how long one unrefreshed counts as abandoned:
 * long enough for the slowest single call into the embedded engine (an index built after a
 * restore), which holds up the timer.
 */
const REFRESH_MS = 10_000;
const SILENT_MS = 120_000;

/** Whether the lock file was refreshed lately (its holder is running, wherever that is). */
function refreshedLately(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs < SILENT_MS;
  } catch {
    return false;
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

const bootId = (): string => readOr('/proc/sys/kernel/random/boot_id', '');

/** This process's PID namespace ("pid:[4026531836]"), or '' off Linux: pids mean something only within one. */
function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

/** The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or '' off Linux. */
function startTicks(pid: number): string {
  const stat = readOr(`/proc/${pid}/stat`, '');
  // The command name (field 2) may hold spaces and parentheses: count from its closing one.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  pid: number;
  boot: string;
  start: string;
  ns: string;
  /** Present when the holder refreshes its lock (how often): only then does its silence mean anything. */
  refreshMs: number;
}

function describeSelf(): Holder {
  return { pid: process.pid, boot: bootId(), start: startTicks(process.pid), ns: pidNamespace(), refreshMs: REFRESH_MS };
}

/** Whether the holder named in a lock file is a live process (other than an earlier incarnation of this one). */
function isLive(holder: Partial<Holder>, dir: string, file: string): boolean {
  const pid = Number(holder.pid);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  // Another boot (another host sharing the volume, or before a reboot) or another container: its
  // pid is not ours to look up (it may even equal our own). Its refreshes say whether it runs; a
  // holder that never refreshes (an earlier version) stands, as it did, unless it is of another boot.
  if (!sameMachineView(holder)) {
    if (holder.refreshMs !== undefined) return refreshedLately(file);
    return !(holder.boot && holder.boot !== bootId());
  }
  if (pid === process.pid) return held.has(dir);
  if (!isRunning(pid)) return false;
  const start = startTicks(pid);
  return !(start && holder.start && holder.start !== start);
}

/** Whether the holder's pid means something here: the same boot and PID namespace as ours (or a lock that names neither). */
function sameMachineView(holder: Partial<Holder>): boolean {
  const boot = bootId();
  const ns = pidNamespace();
  return !(boot && holder.boot && holder.boot !== boot) && !(ns && holder.ns && holder.ns !== ns);
}

function readHolder(text: string): Partial<Holder> | undefined {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as Partial<Holder>;
  } catch {
    return { pid: Number(text) };
  }
}

/**
 * Removes a stale lock only if it is still the one judged stale: two openers taking over the same
 * one at once, the second would otherwise delete the lock the first had just put in its place, and
 * both would go on. It is moved aside (atomic), looked at, and put back if it was a new holder's.
 */
function removeIfStill(file: string, staleText: string): void {
  const aside = `${file}.stale.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // gone meanwhile
  }
  if (readOr(aside, '') !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      /* yet another opener linked one in: it holds it */
    }
  }
  unlinkSync(aside);
}

/** Written and flushed to disk before it is linked in: a power cut must not leave an empty lock. */
function writeAndSync(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Takes the directory's lock, or throws naming the process that holds it; returns the release. */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, 'palisade.lock');
  const mine = JSON.stringify(describeSelf());
  const aside = join(dir, `palisade.lock.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeAndSync(aside, mine);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(aside, file); // fails if a lock exists: never half-written, never two holders
        if (readOr(file, '') === mine) break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const text = readOr(file, '');
      const holder = readHolder(text);
      if (holder === undefined) {
        if (!existsSync(file)) continue; // released meanwhile: try again
        // Empty (a crash before it reached the disk) or unreadable (another user's): nobody can
        // tell whether its holder still runs, so it is not taken over.
        if (attempt >= 3) throw new Error(`The lock file ${file} is empty or cannot be read. If no Palisade process is running, delete it.`);
        continue;
      }
      if (isLive(holder, dir, file) || attempt >= 3) {
        const elsewhere = sameMachineView(holder) ? '' : `, in another container or on another host: it refreshes the lock while it runs, and one left for ${SILENT_MS / 1000} s is taken over`;
        const who = holder.pid === process.pid && held.has(dir) ? 'this process already' : `another process (pid ${holder.pid}${elsewhere})`;
        throw new Error(
          `The embedded database in ${dir} is open in ${who}. Stop the server before running this command, or use PostgreSQL (DATABASE_URL) to run commands beside it. If no Palisade process is running, delete ${file}.`,
        );
      }
      removeIfStill(file, text); // its holder has ended
    }
  } finally {
    unlinkSync(aside);
  }
  held.add(dir);
  const refresh = setInterval(() => {
    try {
      const now = new Date();
      if (readOr(file, '') === mine) utimesSync(file, now, now);
    } catch {
      /* gone: nothing to refresh */
    }
  }, REFRESH_MS);
  refresh.unref();
  return () => {
    clearInterval(refresh);
    held.delete(dir);
    if (readOr(file, '') === mine) unlinkSync(file);
  };
}
