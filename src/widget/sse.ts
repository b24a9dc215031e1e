/**
 * An incremental Server-Sent Events parser (the WHATWG event-stream format). EventSource cannot
 * POST or send an Authorization header, so the widget reads fetch's body stream through this.
 */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

export interface SseParser {
  /** Feeds decoded text; complete events are dispatched as soon as their blank line arrives. */
  push(chunk: string): void;
}

export function createSseParser(onEvent: (event: SseEvent) => void): SseParser {
  let buffer = '';
  let eventType = '';
  let data = '';
  let hasData = false;

  function line(text: string): void {
    if (text === '') {
      if (hasData) onEvent({ event: eventType || 'message', data });
      eventType = '';
      data = '';
      hasData = false;
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') eventType = value;
    else if (field === 'data') {
      data = hasData ? `${data}\n${value}` : value;
      hasData = true;
    }
  }

  return {
    push(chunk: string): void {
      buffer += chunk;
      let start = 0;
      for (;;) {
        const cr = buffer.indexOf('\r', start);
        const lf = buffer.indexOf('\n', start);
        if (cr === -1 && lf === -1) break;
        const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
        // A CR at the very end may be the first half of a CRLF split across chunks: wait for more.
        if (end === cr && cr === buffer.length - 1) break;
        line(buffer.slice(start, end));
        start = end === cr && buffer[cr + 1] === '\n' ? cr + 2 : end + 1;
      }
      buffer = buffer.slice(start);
    },
  };
}
