/** Crypto-wallet addresses: Bitcoin (Base58Check, bech32/bech32m, checksums verified) and Ethereum. */
import { hash } from 'node:crypto';
import type { Finding, ScanInput } from '../types.ts';

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BECH = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
// Each pattern opens with fixed characters (so the engine skips quickly to them) and checks
// that no word character comes before them, which the usual leading lookbehind would not allow.
const BTC_RE = /[13](?<!\w[13])[1-9A-HJ-NP-Za-km-z]{25,34}(?!\w)/g;
const BECH_RE = /(?:bc|tb)1(?<!\w(?:bc|tb)1)[02-9ac-hj-np-z]{11,71}(?!\w)/gi;
const ETH_RE = /0x(?<!\w0x)[0-9a-fA-F]{40}(?!\w)/g;

/** Base58 decoding with small integers (bytes, least significant first) instead of a BigInt. */
function base58Bytes(s: string): number[] {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let carry = B58.indexOf(s[i] ?? '');
    for (let j = 0; j < bytes.length; j++) {
      carry += (bytes[j] ?? 0) * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    for (; carry > 0; carry >>= 8) bytes.push(carry & 0xff);
  }
  // Each leading "1" stands for a zero byte.
  for (let i = 0; i < s.length && s[i] === '1'; i++) bytes.push(0);
  return bytes.reverse();
}

function base58CheckValid(s: string): boolean {
  const bytes = base58Bytes(s);
  if (bytes.length !== 25) return false;
  const sum = hash('sha256', hash('sha256', Buffer.from(bytes.slice(0, 21)), 'buffer'), 'buffer');
  return sum.subarray(0, 4).equals(Buffer.from(bytes.slice(21)));
}

function polymod(values: number[]): number {
  const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i] ?? 0;
  }
  return chk >>> 0;
}

function bech32Valid(s: string): boolean {
  const lower = s.toLowerCase();
  const sep = lower.lastIndexOf('1');
  const hrp = lower.slice(0, sep);
  const data = [...lower.slice(sep + 1)].map((c) => BECH.indexOf(c));
  const expanded = [...[...hrp].map((c) => c.charCodeAt(0) >> 5), 0, ...[...hrp].map((c) => c.charCodeAt(0) & 31)];
  const pm = polymod([...expanded, ...data]);
  return pm === 1 || pm === 0x2bc830a3;
}

export function recognizeCryptoWallets({ text }: ScanInput, out: Finding[]): void {
  for (const [re, valid, score] of [
    [BTC_RE, base58CheckValid, 0.9],
    [BECH_RE, bech32Valid, 0.9],
    [ETH_RE, (): boolean => true, 0.75],
  ] as const) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (valid(m[0])) out.push({ type: 'CRYPTO_WALLET', start: m.index, end: m.index + m[0].length, score });
    }
  }
}
