/**
 * A document's content, whatever its type, → chunks ready to index. The one entry point from
 * raw content to plain text; it never keeps markup and never fetches anything.
 */
import { plainTextToBlocks, type Block } from './blocks.ts';
import { chunkBlocks, type Chunk } from './chunk.ts';
import { htmlToBlocks } from './html.ts';
import { markdownToBlocks } from './markdown.ts';

export const contentTypes = ['text', 'markdown', 'html'] as const;
export type ContentType = (typeof contentTypes)[number];

export function toBlocks(content: string, contentType: ContentType): Block[] {
  if (contentType === 'html') return htmlToBlocks(content);
  if (contentType === 'markdown') return markdownToBlocks(content);
  return plainTextToBlocks(content);
}

export function extractChunks(content: string, contentType: ContentType): Chunk[] {
  return chunkBlocks(toBlocks(content, contentType));
}
