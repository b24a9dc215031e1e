/**
 * Raw HTML in Markdown that a reader never sees: comments and the content of script, style,
 * textarea, template and noscript elements, which may span lines (a comment opened mid-line hides
 * the next lines until it closes). Text there must not be quoted to visitors. An opener inside a
 * code span (between backtick runs of one length) is text, not markup. Linear: every search
 * starts where the previous one stopped.
 */
const opener = /<!--|<(script|style|textarea|template|noscript)(?=[\s/>]|$)/gi;
const closers: Readonly<Record<string, RegExp>> = Object.fromEntries(
  ['script', 'style', 'textarea', 'template', 'noscript'].map((name) => [name, new RegExp(`</${name}`, 'gi')]),
);
const commentCloser = /-->/g;

/** What is still open at the end of a line, for the next one. */
export interface HiddenState {
  closer: RegExp | null;
  /** An element whose opening tag goes on into the next line (its ">" is there). */
  tagOpen: string | null;
}

export const newHiddenState = (): HiddenState => ({ closer: null, tagOpen: null });

/**
 * The code spans of a line, as [start, end) pairs: a backtick run opens one that the next run of
 * the same length closes; a run with no partner is literal text.
 */
function codeSpans(line: string): number[] {
  const runs: { at: number; length: number }[] = [];
  for (let i = line.indexOf('`'); i !== -1; ) {
    let end = i;
    while (line.charCodeAt(end) === 96) end++;
    runs.push({ at: i, length: end - i });
    i = line.indexOf('`', end);
  }
  // For each run, the index of the next run of the same length (found right to left: linear).
  const next = new Array<number>(runs.length).fill(-1);
  const lastOfLength = new Map<number, number>();
  for (let k = runs.length - 1; k >= 0; k--) {
    const run = runs[k] as { at: number; length: number };
    next[k] = lastOfLength.get(run.length) ?? -1;
    lastOfLength.set(run.length, k);
  }
  const spans: number[] = [];
  for (let k = 0; k < runs.length; ) {
    const close = next[k] ?? -1;
    if (close === -1) {
      k++;
      continue;
    }
    const open = runs[k] as { at: number };
    const end = runs[close] as { at: number; length: number };
    spans.push(open.at, end.at + end.length);
    k = close + 1;
  }
  return spans;
}

/**
 * The line without its hidden parts (each replaced by a space), given and updating `state`.
 * `tagGoesOn` tells whether a ">" comes on the following lines before a blank one: an opening tag
 * inside text whose ">" comes only there is still a tag (CommonMark lets an inline tag's
 * attributes go on over line breaks).
 */
export function visiblePart(line: string, state: HiddenState, tagGoesOn: () => boolean = () => false): string {
  let out = '';
  let at = 0;
  let spans: number[] | undefined;
  let span = 0; // the first span that may still hold an opener (openers come left to right)
  const inSpan = (position: number): boolean => {
    spans ??= codeSpans(line);
    while (span < spans.length && (spans[span + 1] ?? 0) <= position) span += 2;
    return span < spans.length && position >= (spans[span] ?? 0);
  };
  if (state.tagOpen !== null) {
    const end = line.indexOf('>');
    if (end === -1) return out;
    at = end + 1;
    state.closer = closers[state.tagOpen] ?? commentCloser;
    state.tagOpen = null;
  }
  for (;;) {
    if (state.closer !== null) {
      state.closer.lastIndex = at;
      const end = state.closer.exec(line);
      if (!end) return out;
      at = end.index + end[0].length;
      // An element's end tag closes at its ">".
      if (state.closer !== commentCloser) at = line.indexOf('>', at) + 1 || line.length;
      state.closer = null;
    }
    opener.lastIndex = at;
    let open = opener.exec(line);
    while (open && inSpan(open.index)) {
      opener.lastIndex = open.index + 1;
      open = opener.exec(line);
    }
    if (!open) return out + line.slice(at);
    const name = open[1]?.toLowerCase();
    // An element opens at its tag's ">". A tag left open at the end of a line continues on the
    // next where it starts the line (an HTML block), or inside text when its ">" comes on the
    // following lines; otherwise it is text ("use the <script tag").
    const tagEnd = name === undefined ? 0 : line.indexOf('>', open.index) + 1;
    if (name !== undefined && tagEnd === 0 && line.slice(0, open.index).trim() !== '') {
      if (!tagGoesOn()) return out + line.slice(at);
      state.tagOpen = name;
      return `${out}${line.slice(at, open.index)} `;
    }
    out += line.slice(at, open.index) + ' ';
    if (name === undefined) {
      // "<!-->" and "<!--->" are whole comments: the closer may start inside the opener.
      state.closer = commentCloser;
      at = open.index + 2;
    } else {
      state.closer = closers[name] ?? commentCloser;
      at = tagEnd === 0 ? line.length : tagEnd;
    }
  }
}
