/**
 * HTML → blocks of plain text. html-to-text parses the markup (it never runs scripts); scripts,
 * styles, navigation, forms, media and elements the page hides are dropped, link targets are left out, and headings are
 * written as Markdown headings so the Markdown reader can keep them. No markup survives.
 * Tables become one line per cell (html-to-text's table layout costs the square of the cells:
 * 100,000 cells took 42 s), list items one line each and quotes plain blocks (see listItem), and
 * documents nested deeper than the converter walks (MAX_NESTING) are refused before parsing
 * (html-nesting.ts) rather than cut short.
 */
import { htmlToText, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';
import { AppError } from '../../platform/http/errors.ts';
import type { Block } from './blocks.ts';
import { htmlNestingExceeds } from './html-nesting.ts';
import { markdownToBlocks } from './markdown.ts';

function heading(level: number): FormatCallback {
  return (elem, walk, builder) => {
    builder.openBlock({ leadingLineBreaks: 2 });
    builder.addLiteral(`${'#'.repeat(level)} `);
    walk(elem.children, builder);
    builder.closeBlock({ trailingLineBreaks: 2 });
  };
}

/**
 * A list item as a line of its own starting "- ", at any depth. html-to-text's own list and
 * blockquote layouts indent (or prefix) every line of what they hold once per level: 99 nested
 * lists of 200,000 items took 11 s and a numbered one 564 MB. Indentation is dropped later anyway.
 */
const listItem: FormatCallback = (elem, walk, builder) => {
  builder.openBlock({ leadingLineBreaks: 1 });
  builder.addLiteral('- ');
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks: 1 });
};

const skip = ['script', 'style', 'noscript', 'template', 'nav', 'iframe', 'object', 'embed', 'svg', 'canvas', 'form', 'button', 'select', 'img', 'picture', 'video', 'audio', 'head'];

/**
 * Elements the page itself hides: a reader never sees their text, so it is not quoted to visitors
 * either (an inline style written with other spacing, or hidden by a style sheet, is not caught).
 */
const hidden = ['[hidden]', '[aria-hidden="true" i]', ...['display:none', 'display: none', 'visibility:hidden', 'visibility: hidden'].map((v) => `[style*="${v}" i]`)];

/** The converter writes "..." for whatever lies deeper than this: such documents are refused instead. */
export const MAX_NESTING = 200;

const options: HtmlToTextOptions = {
  wordwrap: false,
  decodeEntities: true,
  formatters: { ...Object.fromEntries([1, 2, 3, 4, 5, 6].map((n) => [`h${n}`, heading(n)])), listItem },
  selectors: [
    ...[...skip, ...hidden].map((selector) => ({ selector, format: 'skip' })),
    { selector: 'a', options: { ignoreHref: true } },
    ...[1, 2, 3, 4, 5, 6].map((n) => ({ selector: `h${n}`, format: `h${n}` })),
    ...['table', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th', 'caption', 'ul', 'ol', 'dl', 'blockquote'].map((selector) => ({ selector, format: 'block' })),
    { selector: 'li', format: 'listItem' },
  ],
  limits: { maxInputLength: 4_000_000, maxDepth: MAX_NESTING },
};

export function htmlToBlocks(html: string): Block[] {
  if (htmlNestingExceeds(html, MAX_NESTING)) throw new AppError('invalid_request', `The HTML nests elements more than ${MAX_NESTING} deep.`);
  // The converter drops comments, scripts and styles; markup left in its text is what the page shows.
  let text: string;
  try {
    text = htmlToText(html, options);
  } catch {
    // Its own limits, e.g. Roman list numbers past 3,999 (<ol type="I" start="10000">), throw.
    throw new AppError('invalid_request', 'The HTML could not be converted to text (e.g. a list numbered beyond what its numbering style can write).');
  }
  return markdownToBlocks(text, { hideRawHtml: false });
}
