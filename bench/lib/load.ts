/** One autocannon run against 127.0.0.1, reduced to the figures we report. */
import autocannon from 'autocannon';

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface LoadOptions {
  url: string;
  connections?: number;
  durationSeconds?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Cycled through, one per request (instead of one fixed body). */
  bodies?: string[];
  /** Offer this many requests per second in all (open loop) instead of as many as are answered. */
  overallRate?: number;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  let next = -1;
  const result = await autocannon({
    url: options.url,
    connections: options.connections ?? 10,
    duration: options.durationSeconds ?? 5,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.overallRate !== undefined && { overallRate: options.overallRate }),
    ...(options.body !== undefined && { body: options.body }),
    ...(options.bodies && {
      requests: [
        {
          setupRequest: (request: autocannon.Request): autocannon.Request => {
            const bodies = options.bodies ?? [];
            next = (next + 1) % bodies.length;
            return { ...request, body: bodies[next] ?? '' };
          },
        },
      ],
    }),
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

export const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;

/** The median of several runs by requests per second: one noisy run on a shared machine does not decide. */
export async function loadMedian(options: LoadOptions, runs = 3): Promise<LoadResult & { runs: number[] }> {
  const results: LoadResult[] = [];
  for (let i = 0; i < runs; i++) results.push(await load(options));
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const median = sorted[Math.floor(sorted.length / 2)] ?? results[0];
  if (!median) throw new Error('no runs');
  return { ...median, runs: results.map((r) => r.requestsPerSecond) };
}
