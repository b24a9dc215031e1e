/**
 * The prepared Palisade server of the widget benchmarks (bench/servers/palisade-widget.ts) in its
 * own process, and the visitors' message load against it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

// BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles these servers too, as lib/processes.ts does its own.
const nodeArgs = (): string[] => (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

export interface WidgetReady {
  url: string;
  /** CPU and cipher time of the server process (see bench/servers/palisade-widget.ts). */
  statsUrl: string;
  projectId: string;
  token: string;
  origin: string;
}

export interface WidgetServer {
  ready: WidgetReady;
  /** CPU time (user + system) the server process has used so far, in microseconds. */
  cpuMicros(): number;
  stop(): Promise<void>;
}

export async function startWidgetServer(env: Record<string, string>): Promise<WidgetServer> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs(), '--import', 'tsx', 'bench/servers/palisade-widget.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const ready = await new Promise<WidgetReady>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('widget bench server did not start')), 180_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      const line = out.split('\n').find((l) => l.startsWith('{"ready"'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as WidgetReady);
      }
    });
    child.on('exit', (code) => reject(new Error(`widget bench server exited (${code})`)));
  });
  return {
    ready,
    cpuMicros() {
      // /proc/<pid>/stat fields 14 and 15 (utime, stime) in clock ticks of 10 ms.
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

// Visitors' questions, varied as a real widget's are: the knowledge base's verbs and topics in
// several phrasings (most match a document directly, some only by their more common words),
// some questions it cannot answer, and some carrying personal data for the PII step to tokenise.
const verbs = ['configure', 'rotate', 'enable', 'disable', 'inspect', 'audit', 'restore', 'migrate'];
const topics = ['installation', 'billing', 'security', 'webhooks', 'rate limits', 'widget', 'api keys', 'encryption', 'exports', 'regions'];
const phrasings = [
  (v: string, t: string) => `How do I ${v} ${t}?`,
  (v: string, t: string) => `Can I ${v} the ${t} from the dashboard?`,
  (v: string, t: string) => `what happens to ${t} if I ${v} it`,
  (v: string, t: string) => `Where are the settings to ${v} ${t}? I tried twice and it failed.`,
  (v: string, t: string) => `${t} ${v}`,
];
const unanswerable = ['Do you ship to Portugal?', 'What is your refund policy for annual plans?', 'Is there a discount for students?'];
const personal = [(i: number) => `I am visitor${i}@example.com, how do I restore exports?`, (i: number) => `Call me on +44 20 7946 ${String(1000 + i).slice(-4)} about billing, please.`];

/** Distinct questions (up to 400), deterministic. */
function visitorQuestions(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i += 1) {
    const phrase = phrasings[(i + Math.floor(i / 80)) % phrasings.length];
    out.push(phrase ? phrase(verbs[i % verbs.length] ?? 'use', topics[Math.floor(i / verbs.length) % topics.length] ?? 'widget') : '');
    if (i % 10 === 4) out.push(unanswerable[i % unanswerable.length] ?? '');
    if (i % 10 === 9) out.push(personal[Math.floor(i / 10) % personal.length]?.(i) ?? '');
  }
  return out.slice(0, count);
}
const questions = visitorQuestions(240);

/** Visitors sending messages on `connections` connections, one question after another. */
export function messageLoad(ready: WidgetReady, connections = 10) {
  return {
    url: `${ready.url}/v1/widget/${ready.projectId}/messages`,
    method: 'POST' as const,
    connections,
    headers: { origin: ready.origin, authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
    bodies: questions.map((content) => JSON.stringify({ content })),
  };
}

