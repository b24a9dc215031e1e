/**
 * The audit log as a file: CSV (RFC 4180) or JSON lines, one entry per row. A CSV cell that a
 * spreadsheet would run as a formula (starting with =, +, -, @, a tab or a carriage return) is
 * prefixed with a quote (OWASP, CSV injection): metadata holds strings outsiders choose (a refused
 * origin, an invitation's address, an organisation's name).
 */
export interface ExportedEntry {
  id: string;
  action: string;
  actor: { type: string; id: string | null };
  target: { type: string; id: string | null } | null;
  ip: string | null;
  metadata: unknown;
  createdAt: string;
}

export type ExportFormat = 'csv' | 'jsonl';

export const CSV_HEADER = 'id,created_at,action,actor_type,actor_id,target_type,target_id,ip,metadata\r\n';

function csvCell(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) || safe !== value ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function formatEntry(entry: ExportedEntry, format: ExportFormat): string {
  if (format === 'jsonl') return `${JSON.stringify(entry)}\n`;
  const cells = [
    entry.id,
    entry.createdAt,
    entry.action,
    entry.actor.type,
    entry.actor.id,
    entry.target?.type ?? null,
    entry.target?.id ?? null,
    entry.ip,
    entry.metadata === null || entry.metadata === undefined ? null : JSON.stringify(entry.metadata),
  ];
  return `${cells.map(csvCell).join(',')}\r\n`;
}
