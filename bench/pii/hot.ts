/**
 * Profiling aid: analyze() each hostile 100 KB input (or one, by name) several times and print
 * the best time. Run: node --cpu-prof --import tsx bench/pii/hot.ts [name]
 */
import { analyze } from '../../src/modules/pii/index.ts';
import { adversarialInputs } from './perf.ts';

const only = process.argv[2];
const inputs = adversarialInputs('Hello there, my name is Anna Berg. I live at 12 Main Street, call 030 1234567.');
for (const [name, text] of Object.entries(inputs)) {
  if (only && name !== only) continue;
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    analyze(text);
    best = Math.min(best, performance.now() - s);
  }
  console.log(`${name.padEnd(20)} ${best.toFixed(1)} ms`);
}
