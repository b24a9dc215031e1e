/**
 * Command-line ingestion (`palisade kb add <projectId> <file|folder>`, demo seeding): reads
 * Markdown, text and HTML files, a folder recursively, into a project's knowledge base through
 * the service. It reads only the path it is given, never follows symbolic links and never
 * fetches anything.
 */
import { constants, lstat, open, readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { AppError } from '../../platform/http/errors.ts';
import type { ContentType } from './extract.ts';
import { atxHeadingText } from './markdown.ts';
import { maxContentChars } from './schemas.ts';
import type { KnowledgeService } from './service.ts';

const typeByExtension: Record<string, ContentType> = { '.md': 'markdown', '.markdown': 'markdown', '.txt': 'text', '.html': 'html', '.htm': 'html' };
const skippedFolders = new Set(['node_modules', '.git']);

export interface AddPathResult {
  added: number;
  skipped: string[];
}

/** The text of the first `<name …>text</name>` element when it is 1–300 characters of plain text. */
function firstElementText(html: string, name: string): string | undefined {
  // Searched step by step, each from where the last stopped: one regex with [^>]* backtracked on "<title<title…".
  const opening = new RegExp(`<${name}\\b`, 'i').exec(html);
  const start = opening ? html.indexOf('>', opening.index) + 1 : 0;
  if (start === 0) return undefined;
  const close = new RegExp(`</${name}>`, 'gi');
  close.lastIndex = start;
  const end = close.exec(html)?.index ?? -1;
  const text = end === -1 ? '' : html.slice(start, end);
  return text.length >= 1 && text.length <= 300 && !text.includes('<') ? text : undefined;
}

/** A title from the first heading (Markdown `#`, HTML `<title>` or `<h1>`), else the file name. */
export function titleOf(content: string, contentType: ContentType, fileName: string): string {
  let found: string | undefined;
  if (contentType === 'markdown') {
    for (const line of content.split(/\r\n|\r|\n/)) {
      const text = atxHeadingText(line);
      if (text) {
        found = text;
        break;
      }
    }
  } else if (contentType === 'html') {
    found = firstElementText(content, 'title') ?? firstElementText(content, 'h1');
  }
  // Control characters (a NUL cannot even be stored) go with the Markdown emphasis.
  const cleaned = found?.replace(/[`*_[\]\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
  return (cleaned || basename(fileName, extname(fileName))).slice(0, 300);
}

/** A listed file and which file it was (device and inode), to be sure the one read is that one. */
interface ListedFile {
  path: string;
  dev: number;
  ino: number;
}

/**
 * The file's text, or why it is skipped. Opened without following a symbolic link and checked on
 * the open handle, so a file swapped for a link (or a FIFO) after the folder was listed is not
 * read through it. O_NOFOLLOW guards the last part of the path only: with `listed`, a file that is
 * not the one listed (a folder on its path swapped for a link to another) is skipped too.
 */
export async function readRegularFile(file: string, maxBytes: number, listed?: Pick<ListedFile, 'dev' | 'ino'>): Promise<{ text: string } | { skip: string }> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return { skip: 'symbolic link' };
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { skip: 'not a regular file' };
    if (listed && (info.dev !== listed.dev || info.ino !== listed.ino)) return { skip: 'changed since the folder was listed' };
    // Sized before it is read: a multi-gigabyte file would otherwise be loaded whole first.
    if (info.size > maxBytes) return { skip: `larger than ${maxContentChars} characters` };
    return { text: await handle.readFile('utf8') };
  } finally {
    await handle.close();
  }
}

async function listFiles(path: string, skipped: string[]): Promise<ListedFile[]> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) {
    skipped.push(`${path}: symbolic link`);
    return [];
  }
  if (info.isFile()) return [{ path, dev: info.dev, ino: info.ino }];
  if (!info.isDirectory()) return [];
  const entries = (await readdir(path)).sort();
  const files: ListedFile[] = [];
  for (const name of entries) {
    if (name.startsWith('.') || skippedFolders.has(name)) continue;
    const child = join(path, name);
    const childInfo = await lstat(child);
    if (childInfo.isDirectory()) files.push(...(await listFiles(child, skipped)));
    else if (childInfo.isFile() && typeByExtension[extname(name).toLowerCase()]) files.push({ path: child, dev: childInfo.dev, ino: childInfo.ino });
  }
  return files;
}

export async function addPath(
  deps: { knowledge: Pick<KnowledgeService, 'addDocument' | 'locateProject'> },
  projectId: string,
  path: string,
): Promise<AddPathResult> {
  const orgId = await deps.knowledge.locateProject(projectId);
  if (!orgId) throw new AppError('not_found', 'This project does not exist.');
  const skipped: string[] = [];
  let added = 0;
  for (const listed of await listFiles(path, skipped)) {
    const file = listed.path;
    const contentType = typeByExtension[extname(file).toLowerCase()];
    if (!contentType) {
      skipped.push(`${file}: not .md, .markdown, .txt, .html or .htm`);
      continue;
    }
    const read = await readRegularFile(file, maxContentChars * 4, listed);
    if ('skip' in read) {
      skipped.push(`${file}: ${read.skip}`);
      continue;
    }
    const content = read.text;
    if (content.length > maxContentChars) {
      skipped.push(`${file}: larger than ${maxContentChars} characters`);
      continue;
    }
    try {
      await deps.knowledge.addDocument(orgId, projectId, { title: titleOf(content, contentType, file), content, contentType }, { principal: { kind: 'system' }, ip: null });
      added += 1;
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'invalid_request') throw error;
      skipped.push(`${file}: ${error.message}`);
    }
  }
  return { added, skipped };
}
