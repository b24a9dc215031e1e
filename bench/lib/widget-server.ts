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

// Visitors' questions: most match a document directly, some only by their more common words.
export const visitorQuestions = [
  'How do I rotate webhooks?',
  'How can I enable encryption?',
  'Where do I configure billing?',
  'How do I restore exports?',
  'Can I audit the widget?',
  'How do I migrate regions?',
  'What if security fails?',
  'How do I rotate api keys when webhooks fail?',
];

export function messageLoad(ready: WidgetReady, connections = 10) {
  return {
    url: `${ready.url}/v1/widget/${ready.projectId}/messages`,
    method: 'POST' as const,
    connections,
    headers: { origin: ready.origin, authorization: `Bearer ${ready.token}`, 'content-type': 'application/json' },
    bodies: visitorQuestions.map((content) => JSON.stringify({ content })),
  };
}
