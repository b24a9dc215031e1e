/**
 * Raw HTML in Markdown that a reader never sees: comments and the content of script, style,
 * textarea, template and noscript elements, which may span lines (a comment opened mid-line hides
 * the next lines until it closes). Text there must not be quoted to visitors. An opener inside
 * inline code (after an odd number of backticks on its line) is text, not markup. Linear: every
 * search starts where the previous one stopped.
 */
const opener = /<!--|<(script|style|textarea|template|noscript)(?=[\s/>])/gi;
const closers: Readonly<Record<string, RegExp>> = Object.fromEntries(
  ['script', 'style', 'textarea', 'template', 'noscript'].map((name) => [name, new RegExp(`</${name}`, 'gi')]),
);
const commentCloser = /-->/g;

/** What is still open at the end of a line, for the next one. */
export interface HiddenState {
  closer: RegExp | null;
}

export const newHiddenState = (): HiddenState => ({ closer: null });

function backticks(line: string, from: number, to: number): number {
  let n = 0;
  for (let i = line.indexOf('`', from); i !== -1 && i < to; i = line.indexOf('`', i + 1)) n++;
  return n;
}

/** The line without its hidden parts (each replaced by a space), given and updating `state`. */
export function visiblePart(line: string, state: HiddenState): string {
  let out = '';
  let at = 0;
  let ticks = 0;
  let countedTo = 0;
  for (;;) {
    if (state.closer !== null) {
      state.closer.lastIndex = at;
      const end = state.closer.exec(line);
      if (!end) return out;
      at = end.index + end[0].length;
      // An element's end tag closes at its ">".
      if (state.closer !== commentCloser) at = line.indexOf('>', at) + 1 || line.length;
      state.closer = null;
      countedTo = at; // backticks inside the hidden part are not code spans
    }
    opener.lastIndex = at;
    let open = opener.exec(line);
    while (open) {
      ticks += backticks(line, countedTo, open.index);
      countedTo = open.index;
      if (ticks % 2 === 0) break;
      opener.lastIndex = open.index + 1;
      open = opener.exec(line);
    }
    if (!open) return out + line.slice(at);
    const name = open[1]?.toLowerCase();
    // An element opens at its tag's ">"; with no ">" left on the line, nothing more can open.
    const tagEnd = name === undefined ? open.index + 4 : line.indexOf('>', open.index) + 1;
    if (tagEnd === 0) return out + line.slice(at);
    out += line.slice(at, open.index) + ' ';
    state.closer = name === undefined ? commentCloser : (closers[name] ?? commentCloser);
    at = tagEnd;
  }
}
