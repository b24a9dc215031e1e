/**
 * The plaintext inside an encrypted backup. Control lines start with `#`; format 2 (written now)
 * carries each table as COPY text (PostgreSQL's text format, read by every version and by PGlite),
 * in length-prefixed blocks, so a restore hands bytes to COPY without looking at rows:
 *
 *   #palisade-backup {"format":2,"scope":"data"|"keystore","createdAt":…,"source":…,"migrations":[…]}
 *   #table {"schema":"public","name":"users","columns":[…]}
 *   #copy 1048576                          followed by exactly that many bytes of COPY text
 *   #table-end {"rows":n}                  the rows COPY counted for that table
 *   #sequences [{"name":…,"value":…}]
 *   #end {"tables":n,"rows":m}
 *
 * Format 1 (still restored) had one `row_to_json` line per row instead of `#copy` blocks and no
 * `#table-end`. Owns the line vocabulary; must never hold anything but what the database returned.
 */
import type { Scope, SequenceValue } from './catalog.ts';

export const BACKUP_FORMAT = 2;
/** The JSON-lines format of earlier versions: restored, no longer written. */
export const JSON_LINES_FORMAT = 1;

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
  | { kind: 'copy'; bytes: number }
  | { kind: 'tableEnd'; rows: number }
  | { kind: 'sequences'; sequences: SequenceValue[] }
  | { kind: 'end'; tables: number; rows: number };

export const headerLine = (m: BackupManifest): string => `#palisade-backup ${JSON.stringify(m)}\n`;
export const tableLine = (t: TableMarker): string => `#table ${JSON.stringify(t)}\n`;
export const copyLine = (bytes: number): string => `#copy ${bytes}\n`;
export const tableEndLine = (rows: number): string => `#table-end ${JSON.stringify({ rows })}\n`;
export const sequencesLine = (s: SequenceValue[]): string => `#sequences ${JSON.stringify(s)}\n`;
export const endLine = (tables: number, rows: number): string => `#end ${JSON.stringify({ tables, rows })}\n`;

/** Parses a control line; throws on anything unknown (a backup from a newer version, or a bug). */
export function parseControl(line: string): ControlLine {
  const space = line.indexOf(' ');
  const word = line.slice(0, space);
  const value: unknown = JSON.parse(line.slice(space + 1));
  if (word === '#palisade-backup') return { kind: 'header', manifest: value as BackupManifest };
  if (word === '#table') return { kind: 'table', table: value as TableMarker };
  if (word === '#copy') {
    const bytes = value as number;
    if (!Number.isSafeInteger(bytes) || bytes < 1) throw new Error('The backup has a malformed data block.');
    return { kind: 'copy', bytes };
  }
  if (word === '#table-end') return { kind: 'tableEnd', rows: (value as { rows: number }).rows };
  if (word === '#sequences') return { kind: 'sequences', sequences: value as SequenceValue[] };
  if (word === '#end') {
    const end = value as { tables: number; rows: number };
    return { kind: 'end', tables: end.tables, rows: end.rows };
  }
  throw new Error('The backup contains a line this version does not understand.');
}
