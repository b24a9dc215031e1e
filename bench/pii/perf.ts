/** Throughput and worst-case timing of analyze() + anonymize() on one core. */
import { analyze, anonymize, createMemoryTokenVault, defaultPiiPolicy } from '../../src/modules/pii/index.ts';
import { toMessages } from './profile-messages.ts';

const KEY = Buffer.alloc(32, 7);

function run(text: string): void {
  const vault = createMemoryTokenVault();
  anonymize(text, analyze(text), defaultPiiPolicy, { tokenFor: vault.tokenFor, hashKey: KEY });
}

const WARM_UP_MS = 4_000;

export interface Throughput { mbPerSecond: number; p50Ms1k: number; p99Ms1k: number; messages1k: number }

/** Messages of about 1 KB built by joining corpus messages (toMessages); timed one by one. */
export function throughput(texts: readonly string[], rounds = 5): Throughput {
  const msgs = toMessages(texts);
  // Untimed rounds first, for WARM_UP_MS: the figure is the steady state of a running server, not
  // JIT warm-up (the recognisers take several seconds to be optimised: after one round dense text
  // ran at about a third of its steady speed).
  const warmUntil = performance.now() + WARM_UP_MS;
  while (performance.now() < warmUntil) for (const m of msgs) run(m);
  const times: number[] = [];
  let bytes = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const m of msgs) {
      const s = performance.now();
      run(m);
      times.push(performance.now() - s);
      bytes += Buffer.byteLength(m);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  const q = (p: number): number => Math.round((times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0) * 1000) / 1000;
  return { mbPerSecond: Math.round((bytes / 1e6 / secs) * 10) / 10, p50Ms1k: q(0.5), p99Ms1k: q(0.99), messages1k: times.length };
}

const SIZE = 100 * 1024;
function fill(unit: string): string {
  return unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);
}

/** Hostile 100 KB inputs aimed at each recogniser's scan. */
export function adversarialInputs(natural: string): Record<string, string> {
  return {
    natural_text: fill(natural + '\n'),
    digits_only: fill('0123456789'),
    phone_like_groups: fill('12 34 56 78 '),
    plus_groups: fill('+4 (0)1 2-3.4 '),
    at_signs: fill('a@'),
    email_like: fill('a.b-c@d.e-f.'),
    colons_hex: fill('a:b:c:d:'),
    long_alnum: fill('aB3'),
    base58_run: fill('1A2b3C4d5E6f7G8h9J'),
    iban_like: fill('DE89 3704 0044 0532 '),
    capitalised_words: fill('Anna Maria Van Der Berg '),
    address_like: fill('12 Main Street Apt. 4\n'),
    loose_address: fill('12 Aa Bb Cc 34 '),
    // Every number behind a street word opens a window search (200 ms before the window budget).
    street_prefix_numbers: fill('Rue a 1 '),
    prefix_word_numbers: fill('In x 1 '),
    url_like: fill('x://a:b@'),
    password_cues: fill('password: '),
    passport_cues: fill('passport '),
    date_words: fill('born 12 March 1999 '),
    dots_numbers: fill('1.2.3.4.5.6.7.8.9.'),
    pem_open: fill('-----BEGIN RSA PRIVATE KEY-----'),
    unicode_mix: fill('Ärger İstanbul ß 𝔘 😀 '),
    whitespace: fill(' \n\t'),
  };
}

export function worstCase(inputs: Record<string, string>): { name: string; ms: number }[] {
  return Object.entries(inputs)
    .map(([name, text]) => {
      run(text.slice(0, 2048));
      const s = performance.now();
      run(text);
      return { name, ms: Math.round((performance.now() - s) * 10) / 10 };
    })
    .sort((a, b) => b.ms - a.ms);
}
