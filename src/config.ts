/**
 * Environment → one typed, validated Config. A bad value stops start-up with a message that
 * names the variable. Nothing else in src/ reads process.env.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { z } from 'zod';
import { orgCeilingPerHour } from './modules/rate-limits/policy.ts';
import { isLoopbackHost } from './platform/net/loopback.ts';
import { defaultHttpLimits, type HttpLimits } from './platform/http/limits.ts';

const booleanish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Ranges wider than a proxy fleet could need reach hops that are not the operator's (/0, or two
 * /1s, trust every hop). IPv4 at most /8; IPv6 at most /32, or /7 inside the private fc00::/7; an
 * IPv4-mapped range (::ffff:a.b.c.d/n) is an IPv4 range, at most /8 of its IPv4 part.
 */
function tooWide(address: string, family: number, prefix: number): boolean {
  if (family === 4) return prefix < 8;
  // The canonical spelling: an IPv4-mapped range written longhand (0:0:0:0:0:ffff:0:0, 0::ffff:…)
  // is one too, and would pass as a narrow IPv6 range.
  // (A zone id, fe80::1%eth0, names an interface, not addresses: URL refuses it, so it goes first.)
  const lower = new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  if (lower.startsWith('::ffff:')) return prefix - 96 < 8;
  const first = parseInt(lower.split(':')[0] || '0', 16);
  const isPrivate = (first & 0xfe00) === 0xfc00;
  return prefix < (isPrivate ? 7 : 32);
}

/**
 * Which proxies may name the client (X-Forwarded-For): none (the default); the nearest N hops
 * (`true` means 1: one load balancer of yours in front); or the proxies' addresses or CIDR ranges.
 * Never "every hop": the left-most X-Forwarded-For entry is whatever the client wrote.
 */
const trustProxySetting = z.string().transform((value, ctx): false | number | string[] => {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'false' || v === 'no' || v === '0') return false;
  if (v === 'true' || v === 'yes') return 1;
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops <= 10) return hops;
    ctx.addIssue({ code: 'custom', message: 'must be at most 10 hops' });
    return z.NEVER;
  }
  const ranges = v.split(',').map((r) => r.trim());
  for (const range of ranges) {
    const [address = '', prefix, ...rest] = range.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || rest.length > 0 || (prefix !== undefined && !(/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits))) {
      ctx.addIssue({ code: 'custom', message: `must be true, false, a hop count, or proxy addresses/CIDRs (got "${range}")` });
      return z.NEVER;
    }
    if (prefix !== undefined && tooWide(address, family, Number(prefix))) {
      ctx.addIssue({ code: 'custom', message: `a range that wide trusts hops that are not your proxies, so any client could name its own address (got "${range}"): IPv4 /8 and IPv6 /32 at the widest, private IPv6 (fc00::/7) /7` });
      return z.NEVER;
    }
  }
  return ranges;
});

/** Digits only: no "1e3", "0x10" or "12abc" read as a number, and never an empty value read as 0. */
const wholeNumber = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number).pipe(z.number().int().min(min).max(max));

/**
 * Where users reach Palisade, kept as its normalised origin and path: "HTTPS://Chat.Example.com/"
 * is https (Secure cookies, HSTS), and user-info, a query or a fragment — which would travel in
 * every invitation link and SSO redirect — are refused.
 */
const publicUrlSetting = z.url({ protocol: /^https?$/ }).transform((value, ctx) => {
  const url = new URL(value);
  if (url.username || url.password || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must be a plain https://host[:port][/path] address, without user-info, query or fragment' });
    return z.NEVER;
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
});

const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: wholeNumber(0, 65535).default(3000),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  PALISADE_MASTER_KEY: z.string().optional(),
  // Comma-separated old master keys that only unwrap (for `palisade keys rotate-master`).
  PALISADE_MASTER_KEY_PREVIOUS: z.string().optional(),
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  PUBLIC_URL: publicUrlSetting.optional(),
  TRUST_PROXY: trustProxySetting.default(false),
  ANSWER_API_KEY: z.string().max(500).optional(),
  ANSWER_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
  ANSWER_ALLOW_PRIVATE_NETWORKS: booleanish.default(false),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: booleanish.default(false),
  SSO_ALLOW_PRIVATE_NETWORKS: booleanish.default(false),
  // Turns GET /metrics on, for scrapers that send it as a Bearer token.
  METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters (openssl rand -hex 24)').max(200).optional(),
  // The contact of /.well-known/security.txt (RFC 9116): mailto:… or https://…
  SECURITY_CONTACT: z.string().regex(/^(mailto:[^\s]+@[^\s]+|https:\/\/[^\s]+)$/, 'must be a mailto: or https:// URI').max(300).optional(),
  // How often this instance sends due webhook deliveries (0: never; another instance does).
  WEBHOOK_DELIVERY_INTERVAL_MS: wholeNumber(0, 3_600_000).default(1000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BODY_LIMIT_BYTES: wholeNumber(1024, 50 * 1024 * 1024).default(1024 * 1024),
  SESSION_TTL_HOURS: wholeNumber(1, 24 * 90).default(24 * 14),
  // A dashboard session unused this long ends (last use is recorded every 5 minutes at most).
  SESSION_IDLE_MINUTES: wholeNumber(15, 60 * 24 * 90).default(60 * 12),
  // Transport limits (platform/http/limits.ts) and the per-key request limit (api-keys).
  MAX_HEADER_BYTES: wholeNumber(1024, 1024 * 1024).default(defaultHttpLimits.maxHeaderBytes),
  JSON_MAX_DEPTH: wholeNumber(1, 1000).default(defaultHttpLimits.jsonMaxDepth),
  MAX_CONNECTIONS_PER_IP: wholeNumber(0, 100_000).optional(),
  MAX_CONNECTIONS: wholeNumber(1, 1_000_000).default(defaultHttpLimits.maxConnections),
  CONNECTION_TIMEOUT_MS: wholeNumber(100, 3_600_000).default(defaultHttpLimits.connectionTimeoutMs),
  KEEP_ALIVE_TIMEOUT_MS: wholeNumber(100, 600_000).default(defaultHttpLimits.keepAliveTimeoutMs),
  REQUEST_TIMEOUT_MS: wholeNumber(100, 3_600_000).default(defaultHttpLimits.requestTimeoutMs),
  HEADERS_TIMEOUT_MS: wholeNumber(100, 600_000).default(defaultHttpLimits.headersTimeoutMs),
  API_KEY_REQUESTS_PER_MINUTE: wholeNumber(1, 1_000_000_000).default(600),
  ORG_MESSAGES_PER_HOUR: wholeNumber(1, 1_000_000_000).default(orgCeilingPerHour),
  RETENTION_SWEEP_MINUTES: wholeNumber(0, 10_080).default(60),
  TEXT_WORK_KCHARS_PER_MINUTE: wholeNumber(1, 1_000_000_000).default(4_000),
});

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  masterKey: string | undefined;
  /** Old master keys, unwrap only (base64, validated by platform/crypto). */
  masterKeyPrevious: string[];
  tls: { certFile: string; keyFile: string } | undefined;
  publicUrl: string;
  /** Whether PUBLIC_URL was set (otherwise publicUrl is made from HOST and PORT). */
  publicUrlSet?: boolean;
  /** PUBLIC_URL as written, when that differs from publicUrl (case, a default port): said at start, see publicUrlWarning. */
  publicUrlWritten?: string;
  /** Hops (`true` = 1) or proxy addresses/CIDRs whose X-Forwarded-For is believed; false: none. */
  trustProxy: boolean | number | string[];
  logLevel: string;
  bodyLimitBytes: number;
  sessionTtlHours: number;
  sessionIdleMinutes: number;
  httpLimits: HttpLimits;
  apiKeyRequestsPerMinute: number;
  /** Thousands of characters of text (documents, PII dry runs) a caller, and a client address, may have read per minute. */
  textWorkKilocharsPerMinute: number;
  /** How often conversations past their project's retentionDays are deleted; 0: not by this instance. */
  retentionSweepMinutes: number;
  /** Messages per hour across all of an organisation's projects, whatever the projects allow; per channel (widget, the organisation's own callers). */
  orgMessagesPerHour: number;
  /**
   * The operator's own OpenAI-compatible endpoint and its key: the key is sent only to projects
   * whose base URL is that endpoint (a project cannot point it elsewhere and receive the key).
   * Projects may instead store their own key (modules/answer-keys), encrypted.
   */
  operatorAnswerEndpoint: { baseUrl: string; apiKey: string | undefined } | undefined;
  /** Let projects' own answer endpoints be on loopback or private networks (off: public only). */
  answerAllowPrivateNetworks: boolean;
  /** Webhooks may also deliver to loopback and private networks, over http too (platform/net/outbound-url.ts). */
  webhookAllowPrivateNetworks: boolean;
  webhookDeliveryIntervalMs: number;
  /** Organisations' SSO identity providers may also be on loopback and private networks, over http too. */
  ssoAllowPrivateNetworks: boolean;
  /** GET /metrics is on only with this token (platform/metrics/routes.ts). */
  metricsToken: string | undefined;
  /** /.well-known/security.txt is served only with a contact. */
  securityContact: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable counts as unset (as `VAR=${UNSET}` in a compose file writes it): its default
  // applies. An empty number read as 0 turned the connection cap, retention or webhooks off.
  const given = Object.fromEntries(Object.entries(env).filter(([, v]) => v === undefined || v.trim() !== ''));
  const parsed = envSchema.safeParse(given);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (Boolean(e.TLS_CERT_FILE) !== Boolean(e.TLS_KEY_FILE)) {
    throw new ConfigError('Invalid configuration:\n  TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  }
  if (e.ANSWER_API_KEY && !e.ANSWER_BASE_URL) {
    throw new ConfigError('Invalid configuration:\n  ANSWER_API_KEY needs ANSWER_BASE_URL: the key is only ever sent to that endpoint');
  }
  const tls = e.TLS_CERT_FILE && e.TLS_KEY_FILE ? { certFile: e.TLS_CERT_FILE, keyFile: e.TLS_KEY_FILE } : undefined;
  const scheme = tls ? 'https' : 'http';
  return {
    host: e.HOST,
    port: e.PORT,
    dataDir: resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    masterKey: e.PALISADE_MASTER_KEY,
    masterKeyPrevious: (e.PALISADE_MASTER_KEY_PREVIOUS ?? '').split(',').map((k) => k.trim()).filter((k) => k !== ''),
    tls,
    publicUrl: e.PUBLIC_URL ?? `${scheme}://${isIP(e.HOST) === 6 ? `[${e.HOST}]` : e.HOST}:${e.PORT}`,
    publicUrlSet: e.PUBLIC_URL !== undefined,
    ...(e.PUBLIC_URL !== undefined && e.PUBLIC_URL !== (given.PUBLIC_URL ?? '').trim().replace(/\/+$/, '') ? { publicUrlWritten: given.PUBLIC_URL?.trim() } : {}),
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    sessionTtlHours: e.SESSION_TTL_HOURS,
    sessionIdleMinutes: e.SESSION_IDLE_MINUTES,
    httpLimits: {
      maxHeaderBytes: e.MAX_HEADER_BYTES,
      jsonMaxDepth: e.JSON_MAX_DEPTH,
      // Behind a proxy every connection comes from the proxy: no per-IP cap unless asked for.
      maxConnectionsPerIp: e.MAX_CONNECTIONS_PER_IP ?? (e.TRUST_PROXY ? 0 : defaultHttpLimits.maxConnectionsPerIp),
      maxConnections: e.MAX_CONNECTIONS,
      connectionTimeoutMs: e.CONNECTION_TIMEOUT_MS,
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
    },
    apiKeyRequestsPerMinute: e.API_KEY_REQUESTS_PER_MINUTE,
    orgMessagesPerHour: e.ORG_MESSAGES_PER_HOUR,
    textWorkKilocharsPerMinute: e.TEXT_WORK_KCHARS_PER_MINUTE,
    retentionSweepMinutes: e.RETENTION_SWEEP_MINUTES,
    // A base URL alone is a keyless endpoint of the operator's (a local model on a private network).
    operatorAnswerEndpoint: e.ANSWER_BASE_URL ? { baseUrl: e.ANSWER_BASE_URL, apiKey: e.ANSWER_API_KEY || undefined } : undefined,
    answerAllowPrivateNetworks: e.ANSWER_ALLOW_PRIVATE_NETWORKS,
    webhookAllowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    webhookDeliveryIntervalMs: e.WEBHOOK_DELIVERY_INTERVAL_MS,
    ssoAllowPrivateNetworks: e.SSO_ALLOW_PRIVATE_NETWORKS,
    metricsToken: e.METRICS_TOKEN,
    securityContact: e.SECURITY_CONTACT,
  };
}

/**
 * A warning for a server that other machines reach (behind a proxy, or on a non-loopback address)
 * without PUBLIC_URL: its own URL is then made from HOST and PORT, plain http when TLS ends at a
 * proxy, so session cookies go without Secure and `__Host-`, and no HSTS is sent.
 */
export function publicUrlWarning(config: Pick<Config, 'publicUrlSet' | 'tls' | 'trustProxy' | 'host' | 'publicUrl' | 'publicUrlWritten'>): string | undefined {
  if (config.publicUrlWritten !== undefined) {
    // Identity providers compare the SSO redirect URI exactly: one registered as written no longer matches.
    return `PUBLIC_URL is used as ${config.publicUrl} (written ${config.publicUrlWritten}): register the SSO redirect URI (${config.publicUrl}/v1/auth/sso/callback) and the SCIM base URL with identity providers in this form.`;
  }
  if (config.publicUrlSet || config.tls) return undefined;
  const reachable = config.trustProxy !== false || !isLoopbackHost(config.host);
  return reachable
    ? 'PUBLIC_URL is not set: session cookies go without Secure and __Host-, and no HSTS is sent. Behind an HTTPS proxy set PUBLIC_URL=https://your.domain.'
    : undefined;
}
