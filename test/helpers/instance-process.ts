/**
 * A second Palisade server process for multi-instance tests: configured by the environment
 * like production (DATABASE_URL, REDIS_URL, …), prints `{"url": …}` on stdout once listening, and
 * stops when its stdin closes (so it never outlives the test).
 */
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server.ts';

const running = await startServer(loadConfig());
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void running.close().finally(() => process.exit(0));
});
