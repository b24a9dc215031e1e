/** Crypto-wallet addresses: Bitcoin (Base58Check, bech32/bech32m, checksums verified) and Ethereum. */
import { hash } from 'node:crypto';
import type { Finding, ScanInput } from '../types.ts';

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BECH = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
// Every address holds a digit that starts a run of TextScan's digits ("1" or "3", the "1" of
// "bc1", the "0" of "0x") and no word character comes before the address: the patterns run
// sticky only there, as a global search with a leading (?<!\w) would find them.
const BTC_RE = /[13][1-9A-HJ-NP-Za-km-z]{25,34}(?!\w)/y;
const BECH_RE = /(?:bc|tb)1[02-9ac-hj-np-z]{11,71}(?!\w)/iy;
const ETH_RE = /0x[0-9a-fA-F]{40}(?!\w)/y;

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

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** "bc1" or "tb1" (any case) ends at s: ASCII letters only, since "| 32" maps nothing else onto "b", "c" or "t". */
function bechOpening(text: string, s: number): boolean {
  const a = text.charCodeAt(s - 2) | 32;
  const b = text.charCodeAt(s - 1) | 32;
  return (a === 98 && b === 99) || (a === 116 && b === 98);
}

function runMatches(text: string, starts: readonly number[], re: RegExp, valid: (s: string) => boolean, score: number, out: Finding[]): void {
  for (const at of starts) {
    if (at > 0 && isWordChar(text.charCodeAt(at - 1))) continue;
    re.lastIndex = at;
    const m = re.exec(text);
    if (m && valid(m[0])) out.push({ type: 'CRYPTO_WALLET', start: at, end: at + m[0].length, score });
  }
}

export function recognizeCryptoWallets({ text, scan }: ScanInput, out: Finding[]): void {
  const btc: number[] = [];
  const bech: number[] = [];
  const eth: number[] = [];
  const runs = scan.digitRuns;
  for (let k = 0; k < runs.length; k += 2) {
    const s = runs[k] ?? 0;
    const c = text.charCodeAt(s);
    if (c === 49 || c === 51) btc.push(s);
    if (c === 49 && s >= 2 && bechOpening(text, s)) bech.push(s - 2);
    if (c === 48 && s + 1 < text.length && text.charCodeAt(s + 1) === 120) eth.push(s);
  }
  // Bitcoin first, then bech32, then Ethereum, as the three global searches ran before.
  runMatches(text, btc, BTC_RE, base58CheckValid, 0.9, out);
  runMatches(text, bech, BECH_RE, bech32Valid, 0.9, out);
  runMatches(text, eth, ETH_RE, () => true, 0.75, out);
}
