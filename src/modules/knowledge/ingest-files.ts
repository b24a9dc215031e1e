/**
 * Command-line ingestion (`palisade kb add <projectId> <file|folder>`, demo seeding): reads
 * Markdown, text and HTML files, a folder recursively, into a project's knowledge base through
 * the service. It reads only the path it is given, never follows symbolic links and never
 * fetches anything.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { AppError } from '../../platform/http/errors.ts';
import type { ContentType } from './extract.ts';
import { maxContentChars } from './schemas.ts';
import type { KnowledgeService } from './service.ts';

const typeByExtension: Record<string, ContentType> = { '.md': 'markdown', '.markdown': 'markdown', '.txt': 'text', '.html': 'html', '.htm': 'html' };
const skippedFolders = new Set(['node_modules', '.git']);

export interface AddPathResult {
  added: number;
  skipped: string[];
}

/** A title from the first heading (Markdown `#`, HTML `<title>` or `<h1>`), else the file name. */
export function titleOf(content: string, contentType: ContentType, fileName: string): string {
  const found =
    contentType === 'markdown'
      ? /^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/m.exec(content)?.[1]
      : contentType === 'html'
        ? (/<title[^>]*>([^<]{1,300})<\/title>/i.exec(content)?.[1] ?? /<h1[^>]*>([^<]{1,300})<\/h1>/i.exec(content)?.[1])
        : undefined;
  // Control characters (a NUL cannot even be stored) go with the Markdown emphasis.
  const cleaned = found?.replace(/[`*_[\]\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim();
  return (cleaned || basename(fileName, extname(fileName))).slice(0, 300);
}

async function listFiles(path: string, skipped: string[]): Promise<string[]> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) {
    skipped.push(`${path}: symbolic link`);
    return [];
  }
  if (info.isFile()) return [path];
  if (!info.isDirectory()) return [];
  const entries = (await readdir(path)).sort();
  const files: string[] = [];
  for (const name of entries) {
    if (name.startsWith('.') || skippedFolders.has(name)) continue;
    const child = join(path, name);
    const childInfo = await lstat(child);
    if (childInfo.isDirectory()) files.push(...(await listFiles(child, skipped)));
    else if (childInfo.isFile() && typeByExtension[extname(name).toLowerCase()]) files.push(child);
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
  for (const file of await listFiles(path, skipped)) {
    const contentType = typeByExtension[extname(file).toLowerCase()];
    if (!contentType) {
      skipped.push(`${file}: not .md, .markdown, .txt, .html or .htm`);
      continue;
    }
    // Sized before it is read: a multi-gigabyte file would otherwise be loaded whole first.
    if ((await lstat(file)).size > maxContentChars * 4) {
      skipped.push(`${file}: larger than ${maxContentChars} characters`);
      continue;
    }
    const content = await readFile(file, 'utf8');
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
