/**
 * HTML → blocks of plain text. html-to-text parses the markup (it never runs scripts); scripts,
 * styles, navigation, forms and media are dropped, link targets are left out, and headings are
 * written as Markdown headings so the Markdown reader can keep them. No markup survives.
 */
import { htmlToText, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';
import type { Block } from './blocks.ts';
import { markdownToBlocks } from './markdown.ts';

function heading(level: number): FormatCallback {
  return (elem, walk, builder) => {
    builder.openBlock({ leadingLineBreaks: 2 });
    builder.addLiteral(`${'#'.repeat(level)} `);
    walk(elem.children, builder);
    builder.closeBlock({ trailingLineBreaks: 2 });
  };
}

const skip = ['script', 'style', 'noscript', 'template', 'nav', 'iframe', 'object', 'embed', 'svg', 'canvas', 'form', 'button', 'select', 'img', 'picture', 'video', 'audio', 'head'];

const options: HtmlToTextOptions = {
  wordwrap: false,
  decodeEntities: true,
  formatters: Object.fromEntries([1, 2, 3, 4, 5, 6].map((n) => [`h${n}`, heading(n)])),
  selectors: [
    ...skip.map((selector) => ({ selector, format: 'skip' })),
    { selector: 'a', options: { ignoreHref: true } },
    ...[1, 2, 3, 4, 5, 6].map((n) => ({ selector: `h${n}`, format: `h${n}` })),
    { selector: 'table', format: 'dataTable' },
  ],
  limits: { maxInputLength: 4_000_000, maxDepth: 200 },
};

export function htmlToBlocks(html: string): Block[] {
  return markdownToBlocks(htmlToText(html, options));
}
