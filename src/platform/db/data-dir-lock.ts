/**
 * One process at a time on an embedded database directory. PGlite does not lock its files, and a
 * second process writing the same directory (a command run while the server is up) can lose
 * writes or corrupt it. The lock is a file holding the owner's pid, created exclusively; a lock
 * whose process has ended (killed, crashed) is taken over.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's lock, or throws naming the process that holds it; returns the release. */
export function lockDataDir(dir: string): () => void {
  const file = join(dir, 'palisade.lock');
  const mine = String(process.pid);
  for (;;) {
    try {
      writeFileSync(file, mine, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSync(file, 'utf8'));
    if (Number.isSafeInteger(holder) && holder > 0 && isRunning(holder)) {
      const who = holder === process.pid ? 'this process already' : `another process (pid ${holder})`;
      throw new Error(
        `The embedded database in ${dir} is open in ${who}. Stop the server before running this command, or use PostgreSQL (DATABASE_URL) to run commands beside it. If no Palisade process is running, delete ${file}.`,
      );
    }
    unlinkSync(file); // its process has ended
  }
  return () => {
    try {
      if (readFileSync(file, 'utf8') === mine) unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
}
