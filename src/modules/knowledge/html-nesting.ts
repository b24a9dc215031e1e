/**
 * How deep an HTML document nests, estimated in one linear pass before it is parsed: the
 * converter's cost grows with the square of the depth (190,000 nested `<div>`s, under 1 MB, took
 * 16 s on the event loop), so pathological documents are refused up front. Elements that close
 * themselves (void elements, `/>`) and those HTML closes implicitly (`<p>`, `<li>`, table cells…)
 * do not count, so sloppy but ordinary markup is never refused.
 */
const uncounted = new Set([
  // void elements
  'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr',
  // closed implicitly by their next sibling or their parent's end
  'p', 'li', 'dt', 'dd', 'tr', 'td', 'th', 'thead', 'tbody', 'tfoot', 'colgroup', 'option', 'optgroup', 'rb', 'rt', 'rp', 'rtc',
]);

const tagName = /^<(\/?)([A-Za-z][A-Za-z0-9-]*)/;

export function htmlNestingExceeds(html: string, maxDepth: number): boolean {
  let depth = 0;
  let end = -1; // the first '>' at or after the current '<' (positions only grow: linear overall)
  for (let at = html.indexOf('<'); at !== -1; ) {
    const next = html.indexOf('<', at + 1);
    if (end < at) end = html.indexOf('>', at);
    if (end === -1) return false; // no tag is ever closed again
    // Only a '<' whose '>' comes before the next '<' starts a tag.
    if (next === -1 || end < next) {
      const match = tagName.exec(html.slice(at, at + 40));
      const name = match?.[2]?.toLowerCase();
      if (name && !uncounted.has(name)) {
        if (match?.[1]) {
          if (depth > 0) depth--;
        } else if (html[end - 1] !== '/' && ++depth > maxDepth) {
          return true;
        }
      }
    }
    at = next;
  }
  return false;
}
