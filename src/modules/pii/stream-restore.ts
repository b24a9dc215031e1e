/**
 * Restores tokens in a streamed answer. A token such as `<EMAIL_1>` may arrive split across
 * deltas, so a trailing, possibly unfinished token is held back until the next delta decides it.
 */
import { restore } from './restore.ts';

const MAX_TOKEN = 40;

export interface StreamRestorer {
  push(delta: string): string;
  flush(): string;
}

export function createStreamRestorer(lookup: (token: string) => string | undefined): StreamRestorer {
  let held = '';
  return {
    push(delta) {
      const text = held + delta;
      const open = text.lastIndexOf('<');
      const pending = open !== -1 && text.indexOf('>', open) === -1 && text.length - open < MAX_TOKEN;
      held = pending ? text.slice(open) : '';
      return restore(pending ? text.slice(0, open) : text, lookup);
    },
    flush() {
      const rest = restore(held, lookup);
      held = '';
      return rest;
    },
  };
}
