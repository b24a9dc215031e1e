/**
 * Fixtures shared by this folder's tests. Owns nothing used at runtime; must never be imported
 * by production code.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { createKeyring, type Keyring } from './keyring.ts';
import { createLocalKms, type Kms } from './kms.ts';
import { createMemoryDataKeyStore } from './memory-store.ts';

export interface Fixture {
  kms: Kms;
  store: ReturnType<typeof createMemoryDataKeyStore>;
  keyring: Keyring;
  clock: Clock & { advance(ms: number): void };
}

export function manualClock(start = Date.UTC(2025, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => new Date(now), advance: (ms) => { now += ms; } };
}

export function fixture(options: { cacheTtlMs?: number } = {}): Fixture {
  const kms = createLocalKms(randomBytes(32));
  const store = createMemoryDataKeyStore();
  const clock = manualClock();
  const keyring = createKeyring({ kms, store, clock, ...options });
  return { kms, store, keyring, clock };
}
