/**
 * How deep an HTML document nests, measured before it is converted: the converter's cost grows
 * with the square of the depth (190,000 nested `<div>`s, under 1 MB, took 16 s on the event
 * loop), so pathological documents are refused up front. The depth is taken from the parser the
 * converter uses (htmlparser2, with the same options), so it sees exactly the tree the converter
 * would walk — implied closes, void elements and odd attributes included — and the walk stops at
 * the first element past the limit.
 */
import { Parser } from 'htmlparser2';

export function htmlNestingExceeds(html: string, maxDepth: number): boolean {
  let depth = 0;
  let exceeded = false;
  const parser: Parser = new Parser(
    {
      onopentag() {
        if (++depth > maxDepth && !exceeded) {
          exceeded = true;
          parser.pause();
        }
      },
      onclosetag() {
        depth--;
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  if (!exceeded) parser.end();
  return exceeded;
}
