/**
 * The plaintext inside an encrypted backup: JSON lines. Control lines start with `#`, rows are
 * `row_to_json` of one table row (never starting with `#`):
 *
 *   #palisade-backup {"format":1,"scope":"data"|"keystore","createdAt":…,"source":…,"migrations":[…]}
 *   #table {"schema":"public","name":"users","columns":[…]}
 *   {"id":"usr_…",…}                       one line per row, JSON escapes keep it on one line
 *   #sequences [{"name":…,"value":…}]
 *   #end {"tables":n,"rows":m}
 *
 * Owns the line vocabulary; must never hold anything but what the database returned.
 */
import type { Scope, SequenceValue } from './catalog.ts';

export const BACKUP_FORMAT = 1;

export interface BackupManifest {
  format: number;
  scope: Scope;
  createdAt: string;
  source: 'pglite' | 'postgres';
  migrations: string[];
}

export interface TableMarker {
  schema: string;
  name: string;
  columns: string[];
}

export type ControlLine =
  | { kind: 'header'; manifest: BackupManifest }
  | { kind: 'table'; table: TableMarker }
  | { kind: 'sequences'; sequences: SequenceValue[] }
  | { kind: 'end'; tables: number; rows: number };

export const headerLine = (m: BackupManifest): string => `#palisade-backup ${JSON.stringify(m)}\n`;
export const tableLine = (t: TableMarker): string => `#table ${JSON.stringify(t)}\n`;
export const sequencesLine = (s: SequenceValue[]): string => `#sequences ${JSON.stringify(s)}\n`;
export const endLine = (tables: number, rows: number): string => `#end ${JSON.stringify({ tables, rows })}\n`;

/** Parses a control line; throws on anything unknown (a backup from a newer version, or a bug). */
export function parseControl(line: string): ControlLine {
  const space = line.indexOf(' ');
  const word = line.slice(0, space);
  const value: unknown = JSON.parse(line.slice(space + 1));
  if (word === '#palisade-backup') return { kind: 'header', manifest: value as BackupManifest };
  if (word === '#table') return { kind: 'table', table: value as TableMarker };
  if (word === '#sequences') return { kind: 'sequences', sequences: value as SequenceValue[] };
  if (word === '#end') {
    const end = value as { tables: number; rows: number };
    return { kind: 'end', tables: end.tables, rows: end.rows };
  }
  throw new Error('The backup contains a line this version does not understand.');
}
