/**
 * Inline Markdown syntax → its visible text: link and image texts stay, targets, comments, tags
 * and emphasis marks go. A line may be a million characters long, so every rule must run in
 * linear time: no rule may rescan the rest of the line from each candidate opening mark. Rules
 * whose closing mark can be far away find it through a `seeker` that remembers its last answer.
 */

interface Match {
  end: number;
  text: string;
}

/**
 * The index of the next match of `pattern` (global) at or after `from`, or -1. The last answer
 * is reused while it still holds, so a rising sequence of questions costs one pass over `text`.
 */
function seeker(text: string, pattern: RegExp): (from: number) => number {
  let asked = Infinity;
  let found = -1;
  return (from) => {
    if (from < asked || (found !== -1 && found < from)) {
      pattern.lastIndex = from;
      found = pattern.exec(text)?.index ?? -1;
      asked = from;
    }
    return found;
  };
}

/** Like `text.replace(opener-led pattern, …)`: tries `match` at each opener, left to right. */
function rewrite(text: string, opener: RegExp, match: (at: number, mark: string) => Match | null): string {
  let out = '';
  let last = 0;
  opener.lastIndex = 0;
  for (let found = opener.exec(text); found; found = opener.exec(text)) {
    const m = match(found.index, found[0]);
    if (m) {
      out += text.slice(last, found.index) + m.text;
      last = opener.lastIndex = m.end;
    } else {
      opener.lastIndex = found.index + 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/** `<!--[\s\S]*?-->` → ' ' */
function comments(text: string): string {
  const close = seeker(text, /-->/g);
  return rewrite(text, /<!--/g, (at) => {
    const end = close(at + 4);
    return end === -1 ? null : { end: end + 3, text: ' ' };
  });
}

/**
 * `![alt](target)`, `[text](target)` and `[text][ref]` → the text, with the semantics of
 * `<opener>([^\]]*)\]<open>[^<close>]*<close>` (text non-empty when `minText` is 1).
 */
function bracketed(text: string, opener: RegExp, minText: 0 | 1, open: '(' | '[', close: RegExp): string {
  const textEnd = seeker(text, /\]/g);
  const targetEnd = seeker(text, close);
  return rewrite(text, opener, (at, mark) => {
    const from = at + mark.length;
    const end = textEnd(from);
    if (end === -1 || end - from < minText || text[end + 1] !== open) return null;
    const target = targetEnd(end + 2);
    return target === -1 ? null : { end: target + 1, text: text.slice(from, end) };
  });
}

/** `<(https?:\/\/[^>\s]+)>` → the URL */
function autolinks(text: string): string {
  const stop = seeker(text, /[>\s]/g);
  return rewrite(text, /<https?:\/\//g, (at, mark) => {
    const end = stop(at + mark.length);
    return end > at + mark.length && text[end] === '>' ? { end: end + 1, text: text.slice(at + 1, end) } : null;
  });
}

/** `<\/?[A-Za-z][^>]*>` → ' ' */
function tags(text: string): string {
  const close = seeker(text, />/g);
  return rewrite(text, /<\/?[A-Za-z]/g, (at, mark) => {
    const end = close(at + mark.length);
    return end === -1 ? null : { end: end + 1, text: ' ' };
  });
}

/**
 * `(mark)(?=\S)([\s\S]*?\S)\1` → the inner text, for marks like `**`, `__` and `~~`: the closer is
 * the first same mark at least one character on whose preceding character is not a space.
 */
function delimited(text: string, opener: RegExp, closers: Record<string, RegExp>): string {
  const seekers = new Map(Object.entries(closers).map(([mark, closer]) => [mark, seeker(text, closer)]));
  return rewrite(text, opener, (at, mark) => {
    const end = seekers.get(mark)?.(at + mark.length + 1) ?? -1;
    return end === -1 ? null : { end: end + mark.length, text: text.slice(at + mark.length, end) };
  });
}

/** A tag whose attributes go on over a line break: a paragraph's lines are read one by one. */
const tagOverLines = /<\/?[A-Za-z][^<>]{0,500}>/g;

/**
 * What a paragraph's lines, each stripped on its own, still hold that reads as a tag once joined
 * ("&lt;img src=x" on one line, "onerror=…&gt;" on the next). Linear: a match cannot cross a "<".
 */
export function stripTagsAcrossLines(paragraph: string): string {
  return paragraph.includes('<') ? paragraph.replace(tagOverLines, ' ') : paragraph;
}

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

/**
 * Inline syntax → its visible text, with nothing in it that reads as a tag: entities are decoded
 * before tags are stripped (Markdown's "&lt;img onerror=…&gt;" is no tag left behind).
 * `markdownSource: false` for html-to-text's output, whose entities are decoded already:
 * "&lt;b&gt;" there is text the page shows, not "<b>".
 */
export function stripInline(line: string, markdownSource = true): string {
  if (!/[<[`*_~&]/.test(line)) return line;
  let text = comments(line);
  text = bracketed(text, /!\[/g, 0, '(', /\)/g);
  text = bracketed(text, /\[/g, 1, '(', /\)/g);
  text = bracketed(text, /\[/g, 1, '[', /\]/g);
  text = tags(autolinks(text));
  text = text.replace(/`+([^`]*)`+/g, '$1').replace(/`+/g, '');
  text = delimited(text, /(?:\*\*|__)(?=\S)/g, { '**': /(?<=\S)\*\*/g, __: /(?<=\S)__/g });
  // Linear as a pattern: the inner text cannot cross a `*` or `_`, so no character is rescanned.
  text = text.replace(/(^|[\s(])[*_](?=\S)([^*_]*?\S)[*_](?=[\s).,;:!?]|$)/g, '$1$2');
  text = delimited(text, /~~(?=\S)/g, { '~~': /(?<=\S)~~/g });
  // Taking code and emphasis marks out can leave a tag ("<`b>" is "<b>" now): it goes too.
  if (text.includes('<')) text = tags(text);
  if (!markdownSource || !text.includes('&')) return text;
  const decoded = text.replace(/&(amp|lt|gt|quot|apos|nbsp|#39);/g, (_, name: string) => entities[name] ?? ' ');
  return decoded === text ? text : tags(decoded);
}
