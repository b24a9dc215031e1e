/**
 * Markdown → blocks of plain text with their nearest heading. Keeps what a reader sees (words,
 * link texts, image alt texts, code) and drops the syntax, raw HTML and link targets. It never
 * renders or keeps markup: the output is text only.
 */
import { normaliseNewlines, tidy, type Block } from './blocks.ts';

const atxHeading = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
const setextUnderline = /^ {0,3}(=+|-+)[ \t]*$/;
const fence = /^ {0,3}(```+|~~~+)/;
const linkDefinition = /^ {0,3}\[[^\]]+\]:\s*\S+/;
const tableSeparator = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/** Inline syntax → its visible text. */
export function stripInline(line: string): string {
  return line
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
    .replace(/<(https?:\/\/[^>\s]+)>/g, '$1')
    .replace(/<\/?[A-Za-z][^>]*>/g, ' ')
    .replace(/`+([^`]*)`+/g, '$1')
    .replace(/`+/g, '')
    .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/g, '$2')
    .replace(/(^|[\s(])[*_](?=\S)([^*_]*?\S)[*_](?=[\s).,;:!?]|$)/g, '$1$2')
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, '$1')
    .replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_, name: string) => entities[name] ?? ' ');
}

function listOrQuote(line: string): string {
  return line
    .replace(/^\s*(?:>\s?)+/, '')
    .replace(/^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?/, '')
    .replace(/^\s*\|/, '')
    .replace(/\|\s*$/, '')
    .replace(/\s*\|\s*/g, ' · ');
}

export function markdownToBlocks(markdown: string): Block[] {
  const lines = normaliseNewlines(markdown).replace(/^---\n[\s\S]*?\n---\n/, '').split('\n');
  const blocks: Block[] = [];
  let heading: string | null = null;
  let paragraph: string[] = [];
  let fenceMark: string | null = null;

  const flush = (): void => {
    const text = tidy(paragraph.join('\n'));
    if (text) blocks.push({ heading, text });
    paragraph = [];
  };

  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    const open = fence.exec(line);
    if (fenceMark !== null) {
      if (open && open[1]?.startsWith(fenceMark)) {
        fenceMark = null;
        flush();
      } else paragraph.push(line);
      continue;
    }
    if (open?.[1]) {
      flush();
      fenceMark = open[1];
      continue;
    }
    const atx = atxHeading.exec(line);
    const next = lines[i + 1] ?? '';
    if (atx) {
      flush();
      heading = tidy(stripInline(atx[2] ?? '')) || heading;
    } else if (line.trim() && paragraph.length === 0 && setextUnderline.test(next) && !listOrQuote(line).startsWith('·')) {
      flush();
      heading = tidy(stripInline(line)) || heading;
      i += 1;
    } else if (!line.trim()) {
      flush();
    } else if (!linkDefinition.test(line) && !tableSeparator.test(line) && !/^ {0,3}([-*_])( *\1){2,} *$/.test(line)) {
      paragraph.push(stripInline(listOrQuote(line)));
    }
  }
  flush();
  return blocks;
}
