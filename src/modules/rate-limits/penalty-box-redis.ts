/**
 * The penalty box shared by all instances through Redis. One Lua script applies the rules of
 * penalty-state.ts atomically; time comes from the injected clock (ARGV), not Redis, so the
 * memory and Redis stores behave the same under test. Listing is a lexicographic range over
 * an index of `<key>\0<dimension>` members (no KEYS, no full SCAN); a second index by expiry
 * prunes ended blocks. The three keys share the caller's prefix; on Redis Cluster give the
 * prefix a hash tag (`{palisade}:`).
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../../platform/clock.ts';
import { systemClock } from '../../platform/clock.ts';
import { defaultListLimit } from './penalty-box.ts';
import type { PenaltyBox, PenaltyBoxOptions } from './penalty-box.ts';
import { assertPenaltyKey, defaultPenaltyPolicy } from './penalty-state.ts';
import type { PenaltyBlock, PenaltyDimension, PenaltyPolicy } from './penalty-state.ts';

const recordRefusalLua = `
local now = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local windowMs = tonumber(ARGV[3])
local baseMs = tonumber(ARGV[4])
local maxMs = tonumber(ARGV[5])
local decayMs = tonumber(ARGV[6])
local member = ARGV[7]
local s = redis.call('HMGET', KEYS[1], 'n', 'ws', 'lvl', 'until', 'lb')
local n = tonumber(s[1]) or 0
local ws = tonumber(s[2]) or now
local lvl = tonumber(s[3]) or 0
local untilMs = tonumber(s[4]) or 0
local lb = tonumber(s[5]) or 0
if untilMs > now then return {0, lvl, untilMs} end
if lvl > 0 and now - lb >= decayMs then lvl = 0 end
if now - ws >= windowMs then n = 0; ws = now end
n = n + 1
local blocked = 0
if n >= threshold then
  lvl = lvl + 1
  local d = baseMs * math.pow(2, lvl - 1)
  if d > maxMs then d = maxMs end
  untilMs = now + d
  n = 0; ws = now; lb = now; blocked = 1
  local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
  for _, m in ipairs(stale) do
    redis.call('ZREM', KEYS[2], m)
    redis.call('ZREM', KEYS[3], m)
  end
  redis.call('ZADD', KEYS[2], untilMs, member)
  redis.call('ZADD', KEYS[3], 0, member)
  -- The indexes outlive their newest block and no longer, so no client address stays in them
  -- for good once blocks stop (no block lasts longer than maxMs).
  redis.call('PEXPIRE', KEYS[2], maxMs)
  redis.call('PEXPIRE', KEYS[3], maxMs)
end
local f = function(x) return string.format('%.0f', x) end
redis.call('HSET', KEYS[1], 'n', n, 'ws', f(ws), 'lvl', lvl, 'until', f(untilMs), 'lb', f(lb))
local expireAt = math.max(untilMs, ws + windowMs)
if lvl > 0 then expireAt = math.max(expireAt, lb + decayMs) end
redis.call('PEXPIRE', KEYS[1], math.max(1000, expireAt - now))
return {blocked, lvl, untilMs}
`;

export function createRedisPenaltyBox(redis: Redis, options: PenaltyBoxOptions & { prefix: string }): PenaltyBox {
  const policy: PenaltyPolicy = { ...defaultPenaltyPolicy, ...options.policy };
  const clock: Clock = options.clock ?? systemClock;
  const stateKey = (dimension: PenaltyDimension, key: string): string => `${options.prefix}pb:s:${dimension}:${key}`;
  const byExpiry = `${options.prefix}pb:t`;
  const byKey = `${options.prefix}pb:x`;
  const member = (dimension: PenaltyDimension, key: string): string => `${key}\u0000${dimension}`;

  return {
    async isBlocked(dimension, key) {
      const [untilText, levelText] = await redis.hmget(stateKey(dimension, key), 'until', 'lvl');
      const untilMs = Number(untilText ?? 0);
      if (!(untilMs > clock.now().getTime())) return undefined;
      return { dimension, key, until: new Date(untilMs), level: Number(levelText ?? 0) };
    },

    async recordRefusal(dimension, key) {
      assertPenaltyKey(key);
      const result = await redis.eval(
        recordRefusalLua,
        3,
        stateKey(dimension, key),
        byExpiry,
        byKey,
        clock.now().getTime(),
        policy.refusalsBeforeBlock,
        policy.windowSeconds * 1000,
        policy.baseBlockSeconds * 1000,
        policy.maxBlockSeconds * 1000,
        policy.levelDecaySeconds * 1000,
        member(dimension, key),
      );
      const [blocked, level, untilMs] = Array.isArray(result) ? result.map(Number) : [];
      if (blocked !== 1 || level === undefined || untilMs === undefined) return undefined;
      return { dimension, key, until: new Date(untilMs), level };
    },

    async list(keyPrefix, limit = defaultListLimit) {
      const nowMs = clock.now().getTime();
      // 0xff never occurs in UTF-8, so `(prefix\xff` bounds every member starting with prefix.
      const min = keyPrefix ? Buffer.from(`[${keyPrefix}`) : '-';
      const max = keyPrefix ? Buffer.concat([Buffer.from(`(${keyPrefix}`), Buffer.from([0xff])]) : '+';
      const blocks: PenaltyBlock[] = [];
      const stale: string[] = [];
      const pageSize = 200;
      for (let offset = 0; blocks.length < limit; offset += pageSize) {
        const members = await redis.zrangebylex(byKey, min, max, 'LIMIT', offset, pageSize);
        const pipeline = redis.pipeline();
        const parsed = members.map((m) => {
          const cut = m.lastIndexOf('\u0000');
          const entry = { member: m, key: m.slice(0, cut), dimension: m.slice(cut + 1) as PenaltyDimension };
          pipeline.hmget(stateKey(entry.dimension, entry.key), 'until', 'lvl');
          return entry;
        });
        const replies = members.length > 0 ? ((await pipeline.exec()) ?? []) : [];
        parsed.forEach((entry, i) => {
          const fields = replies[i]?.[1];
          const [untilText, levelText] = Array.isArray(fields) ? fields : [];
          const untilMs = Number(untilText ?? 0);
          if (untilMs > nowMs) {
            if (blocks.length < limit) blocks.push({ dimension: entry.dimension, key: entry.key, until: new Date(untilMs), level: Number(levelText ?? 0) });
          } else {
            stale.push(entry.member);
          }
        });
        if (members.length < pageSize) break;
      }
      // Only prune what the expiry index also agrees has ended, so a block renewed meanwhile stays listed.
      if (stale.length > 0) {
        await redis.eval(
          `for i = 2, #ARGV do
             local m = ARGV[i]
             local s = redis.call('ZSCORE', KEYS[1], m)
             if not s or tonumber(s) <= tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], m); redis.call('ZREM', KEYS[2], m) end
           end`,
          2,
          byExpiry,
          byKey,
          nowMs,
          ...stale,
        );
      }
      return blocks;
    },

    async lift(dimension, key) {
      // Only a current block goes, with its history; a client that is not blocked keeps its level.
      const lifted = await redis.eval(
        `local u = redis.call('HGET', KEYS[1], 'until')
         if not u or tonumber(u) <= tonumber(ARGV[1]) then return 0 end
         redis.call('DEL', KEYS[1]); redis.call('ZREM', KEYS[2], ARGV[2]); redis.call('ZREM', KEYS[3], ARGV[2])
         return 1`,
        3,
        stateKey(dimension, key),
        byExpiry,
        byKey,
        clock.now().getTime(),
        member(dimension, key),
      );
      return Number(lifted) === 1;
    },
  };
}
