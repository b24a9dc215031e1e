/**
 * Blocks → chunks of about 800–1,200 characters for indexing. Paragraphs are packed together
 * under their heading; a paragraph longer than a chunk is cut at sentence boundaries, and only a
 * sentence longer than a chunk is cut at a word boundary. Pure and deterministic.
 */
import type { Block } from './blocks.ts';

export interface Chunk {
  heading: string | null;
  text: string;
}

export interface ChunkSizes {
  min: number;
  max: number;
}

export const defaultChunkSizes: ChunkSizes = { min: 800, max: 1200 };

const sentenceEnd = /(?<=[.!?…])["'”’)\]]*\s+(?=["'“‘(\[]?[\p{Lu}\p{N}])/u;

export function splitSentences(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => line.split(sentenceEnd))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function cutAtWords(text: string, max: number): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > max) {
    const space = rest.lastIndexOf(' ', max);
    const at = space > max / 2 ? space : max;
    parts.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) parts.push(rest);
  return parts;
}

/** A paragraph as pieces no longer than max: itself, its sentences, or word-cut sentences. */
function pieces(text: string, max: number): { text: string; joiner: string }[] {
  if (text.length <= max) return [{ text, joiner: '\n\n' }];
  return splitSentences(text).flatMap((s, i) =>
    cutAtWords(s, max).map((part, j) => ({ text: part, joiner: i === 0 && j === 0 ? '\n\n' : ' ' })),
  );
}

export function chunkBlocks(blocks: readonly Block[], sizes: ChunkSizes = defaultChunkSizes): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk | null = null;
  let lastHeading: string | null | undefined;

  const flush = (): void => {
    if (current?.text) chunks.push(current);
    current = null;
  };

  for (const block of blocks) {
    let startsSection = block.heading !== lastHeading;
    lastHeading = block.heading;
    for (const piece of pieces(block.text, sizes.max)) {
      const open: Chunk | null = current;
      if (open === null) {
        current = { heading: block.heading, text: piece.text };
      } else if (!startsSection && open.text.length + piece.joiner.length + piece.text.length <= sizes.max) {
        open.text += piece.joiner + piece.text;
      } else {
        // A new section starts a new chunk unless the current one is still small: then the
        // new heading travels inside the text, so that it stays searchable.
        const addition = block.heading ? `${block.heading}\n${piece.text}` : piece.text;
        if (startsSection && open.text.length < sizes.min / 2 && open.text.length + 2 + addition.length <= sizes.max) {
          open.text += `\n\n${addition}`;
        } else {
          flush();
          current = { heading: block.heading, text: piece.text };
        }
      }
      startsSection = false;
    }
  }
  flush();
  return chunks;
}
