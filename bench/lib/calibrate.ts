/**
 * How fast this machine is right now: a fixed loop, in millions of iterations per second. Shared
 * and throttled machines vary several-fold between runs; absolute figures (p99, MB/s) mean
 * little without it, ratios measured side by side in one run much less so.
 */
export function calibrate(): number {
  let best = 0;
  for (let round = 0; round < 5; round += 1) {
    const started = performance.now();
    let sum = 0;
    for (let i = 0; i < 20_000_000; i += 1) sum = (sum + i) | 0;
    if (sum === 42) console.log('');
    best = Math.max(best, 20 / ((performance.now() - started) / 1000));
  }
  return Math.round(best);
}
