/**
 * Markdown → blocks of plain text with their nearest heading. Keeps what a reader sees (words,
 * link texts, image alt texts, code) and drops the syntax, raw HTML and link targets. It never
 * renders or keeps markup: the output is text only.
 */
import { normaliseNewlines, tidy, type Block } from './blocks.ts';
import { newHiddenState, visiblePart } from './hidden-html.ts';
import { stripInline, stripTagsAcrossLines } from './inline.ts';

const atxOpen = /^ {0,3}#{1,6}[ \t]+/;
const setextUnderline = /^ {0,3}(=+|-+)[ \t]*$/;
const fence = /^ {0,3}(```+|~~~+)/;
const linkDefinition = /^ {0,3}\[[^\]]+\]:\s*\S+/;
// Written so that no two adjacent parts can both match the same spaces (no quadratic backtracking).
const tableSeparator = /^\s*(?:\|\s*)?:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*(?:\|\s*)?$/;

export const MAX_HEADING = 200;
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t';

/**
 * The text of an ATX heading (`## Title ##`), or null. Same result as
 * `/^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/`, which backtracks cubically on long blank runs.
 */
export function atxHeadingText(line: string): string | null {
  const open = atxOpen.exec(line);
  if (!open || /[\r\u2028\u2029]/.test(line)) return null;
  const rest = line.slice(open[0].length);
  let end = rest.length;
  while (end > 0 && isBlank(rest[end - 1])) end -= 1;
  let hashes = end;
  while (hashes > 0 && rest[hashes - 1] === '#') hashes -= 1;
  if (hashes < end && hashes > 0 && isBlank(rest[hashes - 1])) {
    end = hashes;
    while (end > 0 && isBlank(rest[end - 1])) end -= 1;
  }
  return rest.slice(0, end);
}

// Table cells joined by ' · ': the same as replacing /\s*\|\s*/g, without its quadratic cost on long blank runs.
function joinCells(line: string): string {
  const cells = line.split('|');
  const last = cells.length - 1;
  return cells
    .map((cell, i) => {
      const start = i > 0 ? cell.trimStart() : cell;
      return i < last ? start.trimEnd() : start;
    })
    .join(' · ');
}

function listOrQuote(line: string): string {
  return joinCells(
    line
      .replace(/^\s*(?:>\s?)+/, '')
      .replace(/^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?/, '')
      .replace(/^\s*\|/, '')
      .replace(/\|\s*$/, ''),
  );
}

/** Lines a tag opened inside text may take to reach its ">" (bounded, so reading stays linear). */
const MAX_TAG_LINES = 20;

/** Whether a ">" comes in the lines from `from` on, before a blank line. */
function tagGoesOn(lines: readonly string[], from: number): boolean {
  for (let k = from; k < Math.min(lines.length, from + MAX_TAG_LINES); k++) {
    const line = lines[k] ?? '';
    if (line.trim() === '') return false;
    if (line.includes('>')) return true;
  }
  return false;
}

/**
 * `hideRawHtml: false` for text that is not Markdown source (html-to-text's output, where
 * comments and scripts are gone already, "<textarea>" is text the page shows, and entities are
 * decoded already).
 */
export function markdownToBlocks(markdown: string, options: { hideRawHtml?: boolean } = {}): Block[] {
  const hideRawHtml = options.hideRawHtml ?? true;
  const lines = normaliseNewlines(markdown).replace(/^---\n[\s\S]*?\n---\n/, '').split('\n');
  const blocks: Block[] = [];
  let heading: string | null = null;
  let paragraph: string[] = [];
  let fenceMark: string | null = null;
  const hidden = newHiddenState();

  const flush = (): void => {
    const text = tidy(stripTagsAcrossLines(paragraph.join('\n')));
    if (text) blocks.push({ heading, text });
    paragraph = [];
  };
  // A heading is copied into every chunk of its section: one longer than a heading can be is
  // kept as text instead (a 450,000-character "heading" multiplied a document 200 times).
  const takeHeading = (text: string): void => {
    if (text.length > MAX_HEADING) blocks.push({ heading, text });
    else heading = text || heading;
  };

  // Inside an indented code block: it opens with an indented line outside a paragraph (one right
  // after a paragraph's line continues that paragraph) and goes on over indented and blank lines.
  let indentedCode = false;
  for (let i = 0; i < lines.length; i += 1) {
    let line = lines[i] ?? '';
    const indented = /^(?: {4}|\t)/.test(line);
    indentedCode = indented ? indentedCode || paragraph.length === 0 : indentedCode && line.trim() === '';
    // Indented code is code, unless a hidden part is still open.
    if (hideRawHtml && fenceMark === null && (hidden.closer !== null || hidden.tagOpen !== null || !indentedCode)) {
      const raw = line;
      line = visiblePart(raw, hidden, () => tagGoesOn(lines, i + 1));
      if (line !== raw && line.trim() === '') continue; // wholly hidden: not even a paragraph break
    }
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
    const atx = atxHeadingText(line);
    const next = lines[i + 1] ?? '';
    if (atx !== null) {
      flush();
      takeHeading(tidy(stripInline(atx, hideRawHtml)));
    } else if (line.trim() && paragraph.length === 0 && setextUnderline.test(next) && !listOrQuote(line).startsWith('·')) {
      flush();
      takeHeading(tidy(stripInline(line, hideRawHtml)));
      i += 1;
    } else if (!line.trim()) {
      flush();
    } else if (!linkDefinition.test(line) && !tableSeparator.test(line) && !/^ {0,3}([-*_])( *\1){2,} *$/.test(line)) {
      paragraph.push(stripInline(listOrQuote(line), hideRawHtml));
    }
  }
  flush();
  return blocks;
}
