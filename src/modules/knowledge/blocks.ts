/**
 * The intermediate form every source format is reduced to before chunking: paragraphs of plain
 * text, each with the nearest heading above it. Owns that type and plain-text parsing; it never
 * keeps markup.
 */
export interface Block {
  heading: string | null;
  text: string;
}

/** Collapses runs of spaces and tabs within lines, trims, and drops empty lines. */
export function tidy(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/[ \t\u00a0]+/g, ' ').trim())
    .filter((line) => line.length > 0)
    .join('\n');
}

/** Plain text: paragraphs are separated by blank lines; there are no headings. */
export function plainTextToBlocks(text: string): Block[] {
  return normaliseNewlines(text)
    .split(/\n\s*\n/)
    .map((p) => tidy(p))
    .filter((p) => p.length > 0)
    .map((p) => ({ heading: null, text: p }));
}

export function normaliseNewlines(text: string): string {
  // Control characters other than newline and tab carry no meaning in a knowledge base.
  return text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ');
}
