/**
 * Where refused widget requests are recorded: the hook the events module connects to (called for
 * every refusal) and the organisation's audit log. Anyone can send refused requests with any
 * Origin, so audit writes are bounded: at most one per project and reason per window, at most
 * `maxRecordsPerWindow` per project, and at most `maxRecordsPerWindowAll` across projects (one
 * client refused on thousands of public project ids). Refusals not written are counted, and the
 * next record of that project carries the count and a few sample origins.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../../platform/db/tables.ts';
import { withTenant } from '../../platform/db/tenant.ts';
import type { Clock } from '../../platform/clock.ts';
import type { AuditService } from '../audit/service.ts';
import { notifyListener, type Listener } from '../../platform/listeners.ts';
import type { OriginRefusal } from './origin-guard.ts';

const windowMs = 60_000;
const maxRecordsPerWindow = 5;
const maxSampleOrigins = 5;
const maxProjects = 10_000;
/** Audit writes per window across all projects (one instance): refusals of many projects at once. */
const maxRecordsPerWindowAll = 300;

interface ProjectWindow {
  endsAt: number;
  reasons: Set<string>;
  skipped: number;
  skippedOrigins: string[];
}

export function createRefusalRecorder(deps: {
  db: Kysely<DB>;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
  onRefusal?: Listener<OriginRefusal> | undefined;
  log: (error: unknown) => void;
}) {
  // Per project, in insertion order, so that the oldest is dropped first when full.
  const windows = new Map<string, ProjectWindow>();
  const all = { endsAt: 0, written: 0 };
  /** Takes one write from this instance's budget for the current window, if any is left. */
  function mayWrite(now: number): boolean {
    if (all.endsAt <= now) Object.assign(all, { endsAt: now + windowMs, written: 0 });
    return all.written++ < maxRecordsPerWindowAll;
  }

  function windowOf(projectId: string, now: number): ProjectWindow {
    const current = windows.get(projectId);
    if (current && current.endsAt > now) return current;
    windows.delete(projectId);
    if (windows.size >= maxProjects) {
      const oldest = windows.keys().next();
      if (!oldest.done) windows.delete(oldest.value);
    }
    const fresh = { endsAt: now + windowMs, reasons: new Set<string>(), skipped: current?.skipped ?? 0, skippedOrigins: current?.skippedOrigins ?? [] };
    windows.set(projectId, fresh);
    return fresh;
  }

  return (refusal: OriginRefusal): void => {
    notifyListener(deps.onRefusal, refusal, deps.log);
    const orgId = refusal.orgId;
    if (!orgId) return;
    const now = deps.clock.now().getTime();
    const window = windowOf(refusal.projectId, now);
    const origin = refusal.origin?.slice(0, 300) ?? null;
    if (window.reasons.has(refusal.reason) || window.reasons.size >= maxRecordsPerWindow || !mayWrite(now)) {
      window.skipped += 1;
      if (origin !== null && window.skippedOrigins.length < maxSampleOrigins && !window.skippedOrigins.includes(origin)) window.skippedOrigins.push(origin);
      return;
    }
    window.reasons.add(refusal.reason);
    const metadata = { origin, reason: refusal.reason, skippedSinceLastRecord: window.skipped, skippedOrigins: window.skippedOrigins };
    window.skipped = 0;
    window.skippedOrigins = [];
    withTenant(deps.db, orgId, (tx) =>
      deps.audit.record(tx, {
        orgId,
        actor: null,
        action: 'widget.origin_refused',
        target: { type: 'project', id: refusal.projectId },
        ip: refusal.ip,
        metadata,
      }),
    ).catch(deps.log);
  };
}
