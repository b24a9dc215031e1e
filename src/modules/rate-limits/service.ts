/**
 * Rate-limit decisions for messages and API keys. (Login attempts are throttled by
 * accounts/login-throttle.ts, which counts failures; there is one implementation, not two.) Returns Decisions and never touches
 * HTTP; routes turn a refusal into `rateLimitedError` and send `rateLimitHeaders`.
 *
 * Dimensions are checked one after another and stop at the first refusal, so a client refused
 * for its own IP or session never spends its project's or organisation's shared budget.
 */
import type { Clock } from '../../platform/clock.ts';
import { systemClock } from '../../platform/clock.ts';
import { clientKeyForIp } from './ip.ts';
import type { PenaltyBox } from './penalty-box.ts';
import type { PenaltyBlock, PenaltyDimension } from './penalty-state.ts';
import { defaultApiKeyMessagesPerMinute, orgCeilingPerHour } from './policy.ts';
import type { RateLimitSettings } from './policy.ts';
import type { Decision, Limit, RateLimiter } from './types.ts';

export type RateLimitDimension = 'ip' | 'session' | 'api_key' | 'project' | 'org' | 'text_work';

export interface RefusalEvent {
  dimension: RateLimitDimension;
  /** Namespaced key (`<projectId>:<client>` for ip and session). */
  key: string;
  projectId?: string;
  orgId?: string;
  cause: 'limit' | 'penalty_box';
  /** Set when this refusal put the client in the penalty box. */
  newBlock?: PenaltyBlock;
}

export interface MessageCheck {
  projectId: string;
  orgId: string;
  ip: string;
  /** The visitor session's id, never its token. */
  sessionId?: string;
  apiKeyId?: string;
  settings: RateLimitSettings;
  /**
   * Who sends: the public widget, or the organisation's own callers (API keys, signed-in users).
   * Each has its own project and organisation budget, so anonymous traffic that spends the
   * widget's cannot refuse the organisation's back-end.
   */
  channel: 'widget' | 'api';
  apiKeyMessagesPerMinute?: number;
  /** Overrides the default organisation ceiling (e.g. per plan). */
  orgCeilingPerHour?: number;
}

interface Step {
  dimension: RateLimitDimension;
  bucket: string;
  key: string;
  limit: Limit;
  penalty?: PenaltyDimension;
  /** Points this request takes (default 1). */
  cost?: number;
}

export interface RateLimitService {
  checkMessage(input: MessageCheck): Promise<Decision>;
  checkApiKey(keyId: string, perMinute: number): Promise<Decision>;
  checkSessionStart(projectId: string, ip: string, perMinute: number): Promise<Decision>;
  /** A conversation the organisation's own caller opens (user or API key), per caller and project, and per caller in all (twice that). */
  checkConversationStart(projectId: string, orgId: string, callerKey: string, perMinute: number): Promise<Decision>;
  checkTextWork(principalKey: string, ip: string, kilochars: number, perMinute: number): Promise<Decision>;
  listBlocks(projectId: string): Promise<PenaltyBlock[]>;
  liftBlock(projectId: string, dimension: PenaltyDimension, key: string): Promise<boolean>;
}

export function createRateLimitService(deps: {
  limiter: RateLimiter;
  penaltyBox: PenaltyBox;
  clock?: Clock;
  onRefusal?: (event: RefusalEvent) => void;
  /** Messages per hour across an organisation's projects (the operator's ORG_MESSAGES_PER_HOUR). */
  orgCeilingPerHour?: number;
}): RateLimitService {
  const { limiter, penaltyBox } = deps;
  const orgCeiling = deps.orgCeilingPerHour ?? orgCeilingPerHour;
  const clock = deps.clock ?? systemClock;
  const notify = (event: RefusalEvent): void => deps.onRefusal?.(event);

  const fromBlock = (block: PenaltyBlock, limit: number): Decision => {
    const seconds = Math.max(1, Math.ceil((block.until.getTime() - clock.now().getTime()) / 1000));
    return { ok: false, limit, remaining: 0, resetSeconds: seconds, retryAfterSeconds: seconds, blocked: true };
  };

  const run = async (steps: Step[], context: { projectId?: string; orgId?: string }): Promise<Decision> => {
    let tightest: Decision | undefined;
    for (const step of steps) {
      const decision = await limiter.consume(step.bucket, step.key, step.limit, step.cost);
      if (!decision.ok) {
        const newBlock = step.penalty ? await penaltyBox.recordRefusal(step.penalty, step.key) : undefined;
        notify({ dimension: step.dimension, key: step.key, ...context, cause: 'limit', ...(newBlock ? { newBlock } : {}) });
        return newBlock ? fromBlock(newBlock, decision.limit) : decision;
      }
      if (!tightest || decision.remaining < tightest.remaining) tightest = decision;
    }
    if (!tightest) throw new RangeError('no rate-limit steps to run');
    return tightest;
  };

  return {
    async checkMessage(input: MessageCheck): Promise<Decision> {
      const { projectId, orgId, settings } = input;
      assertNamespace(projectId);
      // Addresses bind the public widget only: the organisation's own callers are bound by their key
      // or session, and must not share (nor be boxed for) a counter with anonymous visitors behind
      // the same NAT as their back end.
      const ipKey = input.channel === 'widget' ? `${projectId}:${clientKeyForIp(input.ip)}` : undefined;
      const sessionKey = input.sessionId === undefined ? undefined : `${projectId}:${input.sessionId}`;

      const [ipBlock, sessionBlock] = await Promise.all([
        ipKey === undefined ? undefined : penaltyBox.isBlocked('ip', ipKey),
        sessionKey === undefined ? undefined : penaltyBox.isBlocked('session', sessionKey),
      ]);
      const block = ipBlock ?? sessionBlock;
      if (block) {
        notify({ dimension: block.dimension, key: block.key, projectId, orgId, cause: 'penalty_box' });
        return fromBlock(block, block.dimension === 'ip' ? settings.perIpPerMinute : settings.perSessionPerHour);
      }

      const steps: Step[] = [];
      if (ipKey !== undefined) {
        steps.push({ dimension: 'ip', bucket: 'msg_ip', key: ipKey, limit: { points: settings.perIpPerMinute, durationSeconds: 60 }, penalty: 'ip' });
      }
      if (sessionKey !== undefined) {
        steps.push({ dimension: 'session', bucket: 'msg_session', key: sessionKey, limit: { points: settings.perSessionPerHour, durationSeconds: 3_600 }, penalty: 'session' });
      }
      if (input.apiKeyId !== undefined) {
        const points = input.apiKeyMessagesPerMinute ?? defaultApiKeyMessagesPerMinute;
        steps.push({ dimension: 'api_key', bucket: 'msg_api_key', key: input.apiKeyId, limit: { points, durationSeconds: 60 } });
      }
      const suffix = input.channel === 'api' ? '_api' : '';
      steps.push(
        { dimension: 'project', bucket: `msg_project${suffix}`, key: projectId, limit: { points: settings.messagesPerHour, durationSeconds: 3_600 } },
        { dimension: 'org', bucket: `msg_org${suffix}`, key: orgId, limit: { points: input.orgCeilingPerHour ?? orgCeiling, durationSeconds: 3_600 } },
      );
      return run(steps, { projectId, orgId });
    },

    /** Every request authenticated with an API key. */
    async checkApiKey(keyId: string, perMinute: number): Promise<Decision> {
      return run([{ dimension: 'api_key', bucket: 'api_key', key: keyId, limit: { points: perMinute, durationSeconds: 60 } }], {});
    },

    /**
     * Starting a widget session, per client address and project: anonymous visitors are limited
     * per session, so minting sessions at will would reset that limit.
     */
    async checkSessionStart(projectId: string, ip: string, perMinute: number): Promise<Decision> {
      assertNamespace(projectId);
      const key = `${projectId}:${clientKeyForIp(ip)}`;
      return run([{ dimension: 'ip', bucket: 'session_start_ip', key, limit: { points: perMinute, durationSeconds: 60 } }], { projectId });
    },

    async checkConversationStart(projectId: string, orgId: string, callerKey: string, perMinute: number): Promise<Decision> {
      assertNamespace(projectId);
      const dimension = callerKey.startsWith('key:') ? 'api_key' : 'session';
      const limit = { points: perMinute, durationSeconds: 60 };
      // Per project, per caller across projects (an editor may have 200 of them), and per
      // organisation (it may have a thousand keys): as many an hour as it may send messages.
      return run([
        { dimension, bucket: 'conversation_start', key: `${projectId}:${callerKey}`, limit },
        { dimension, bucket: 'conversation_start_caller', key: callerKey, limit: { points: perMinute * 2, durationSeconds: 60 } },
        { dimension: 'org', bucket: 'conversation_start_org', key: orgId, limit: { points: orgCeiling, durationSeconds: 3_600 } },
      ], { projectId, orgId });
    },

    /**
     * Text a caller has the server read (knowledge documents converted and indexed, PII dry runs),
     * in thousands of characters per minute, per caller (user or API key) and per client address:
     * this work runs on the server's own thread, and anyone can sign up.
     */
    async checkTextWork(principalKey: string, ip: string, kilochars: number, perMinute: number): Promise<Decision> {
      const limit = { points: perMinute, durationSeconds: 60 };
      // A text never costs more than the whole budget, so one of the largest bodies always fits a fresh window.
      const cost = Math.max(1, Math.min(Math.ceil(kilochars), perMinute));
      return run([
        { dimension: 'text_work', bucket: 'text_work', key: principalKey, limit, cost },
        { dimension: 'text_work', bucket: 'text_work_ip', key: clientKeyForIp(ip), limit, cost },
      ], {});
    },

    /** A project's current blocks, with keys shown without the project namespace. */
    async listBlocks(projectId: string): Promise<PenaltyBlock[]> {
      assertNamespace(projectId);
      const prefix = `${projectId}:`;
      const blocks = await penaltyBox.list(prefix);
      return blocks.map((b) => ({ ...b, key: b.key.slice(prefix.length) }));
    },

    /** `key` as shown by listBlocks. */
    async liftBlock(projectId: string, dimension: PenaltyDimension, key: string): Promise<boolean> {
      assertNamespace(projectId);
      return penaltyBox.lift(dimension, `${projectId}:${key}`);
    },
  };
}

/** Project ids prefix penalty-box keys; a ':' inside one would let it list another's blocks. */
function assertNamespace(projectId: string): void {
  if (projectId.length === 0 || projectId.includes(':')) throw new RangeError('project id must be non-empty and contain no ":"');
}
