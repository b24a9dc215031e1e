/**
 * `<palisade-chat>`: the launcher and the chat panel in an open shadow root. A view only: it
 * shows what it is told and reports what the visitor does; the controller talks to the server.
 */
import type { Citation } from './api.ts';
import { chatIcon, el, safeHttpUrl } from './dom.ts';
import { applyColour, applyStyles } from './styles.ts';

export interface ChatViewHandlers {
  onSend(text: string): void;
  onOpen(): void;
  onDisconnect(): void;
}

export interface AssistantMessage {
  append(text: string): void;
  citations(list: readonly Citation[]): void;
  fail(text: string): void;
  finish(): void;
}

const maxMessageLength = 4000;

export class PalisadeChat extends HTMLElement {
  private readonly launcher = el('button', {
    type: 'button',
    class: 'launcher',
    'data-testid': 'launcher',
    'aria-label': 'Chat',
    'aria-expanded': 'false',
    'aria-controls': 'pc-panel',
  });
  private readonly heading = el('h2', { id: 'pc-title' }, 'Chat');
  // tabindex: a scrollable region must be reachable by keyboard to be scrolled without a mouse.
  private readonly log = el('div', {
    class: 'messages',
    'data-testid': 'messages',
    role: 'log',
    'aria-live': 'polite',
    'aria-label': 'Messages',
    tabindex: '0',
  });
  private readonly unavailable = el('p', { class: 'unavailable', 'data-testid': 'unavailable', role: 'status', hidden: '' });
  private readonly input = el('textarea', {
    id: 'pc-input',
    'data-testid': 'input',
    rows: '2',
    maxlength: String(maxMessageLength),
    placeholder: 'Ask a question…',
  });
  private readonly send = el('button', { type: 'submit', class: 'send', 'data-testid': 'send' }, 'Send');
  private readonly form = el('form', { class: 'composer' }, el('label', { for: 'pc-input', class: 'sr-only' }, 'Your message'), this.input, this.send);
  private readonly panel = el(
    'section',
    { id: 'pc-panel', class: 'panel', 'data-testid': 'panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'pc-title', hidden: '' },
    el('div', { class: 'head' }, this.heading, el('button', { type: 'button', class: 'close', 'aria-label': 'Close chat' }, '×')),
    this.log,
    this.unavailable,
    this.form,
  );
  private handlers: ChatViewHandlers | null = null;
  private busy = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    applyStyles(root);
    this.launcher.append(chatIcon());
    root.append(this.panel, this.launcher);
    this.launcher.addEventListener('click', () => (this.panel.hidden ? this.open() : this.close()));
    this.panel.querySelector('.close')?.addEventListener('click', () => this.close());
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.stopPropagation();
        this.close();
      }
    });
    this.input.addEventListener('keydown', (event) => {
      // isComposing: Enter that confirms an IME composition (Japanese, Chinese…) must not send.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  connect(handlers: ChatViewHandlers): void {
    this.handlers = handlers;
  }

  disconnectedCallback(): void {
    this.handlers?.onDisconnect();
  }

  open(): void {
    if (!this.panel.hidden) return;
    this.panel.hidden = false;
    this.launcher.setAttribute('aria-expanded', 'true');
    (this.form.hidden || this.input.disabled ? this.panel.querySelector<HTMLElement>('.close') : this.input)?.focus();
    this.scrollToEnd();
    this.handlers?.onOpen();
  }

  /** Closing always hands focus back to the launcher, so keyboard users are never stranded. */
  close(): void {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.launcher.setAttribute('aria-expanded', 'false');
    this.launcher.focus();
  }

  configure(name: string, colour: string, greeting: string): void {
    this.heading.textContent = name;
    this.launcher.setAttribute('aria-label', `Chat: ${name}`);
    applyColour(this, colour);
    if (greeting && !this.log.querySelector('.greeting')) this.log.prepend(el('div', { class: 'msg greeting' }, greeting));
  }

  setUnavailable(text: string | null): void {
    this.unavailable.textContent = text ?? '';
    this.unavailable.hidden = text === null;
    this.form.hidden = text !== null;
    this.log.hidden = text !== null;
  }

  setComposer(enabled: boolean, placeholder: string): void {
    this.input.disabled = !enabled;
    this.input.placeholder = placeholder;
    this.updateSend();
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.log.setAttribute('aria-busy', String(busy));
    this.updateSend();
  }

  addUser(text: string): void {
    this.addMessage(el('div', { class: 'msg user' }, text));
  }

  notice(text: string): void {
    this.addMessage(el('div', { class: 'msg notice' }, text));
  }

  startAssistant(): AssistantMessage {
    const body = el('span', { class: 'text' });
    const message = el('div', { class: 'msg assistant' }, body);
    this.addMessage(message);
    return {
      append: (text) => {
        body.append(text);
        this.scrollToEnd();
      },
      citations: (list) => {
        const items = list.map((citation) => {
          const href = citation.url === null ? null : safeHttpUrl(citation.url);
          const link = href
            ? el('a', { class: 'citation', href, target: '_blank', rel: 'noopener noreferrer nofollow' }, citation.title)
            : el('span', { class: 'citation' }, citation.title);
          return el('li', {}, link);
        });
        if (items.length === 0) return;
        message.querySelector('.sources-label')?.remove();
        message.querySelector('.sources')?.remove();
        message.append(el('span', { class: 'sources-label' }, 'Sources'), el('ul', { class: 'sources' }, ...items));
        this.scrollToEnd();
      },
      fail: (text) => {
        message.classList.add('failed');
        if (body.textContent) body.append('\n');
        body.append(text);
      },
      finish: () => body.normalize(),
    };
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (!text || this.busy || this.input.disabled) return;
    this.input.value = '';
    this.handlers?.onSend(text.slice(0, maxMessageLength));
  }

  /** Removes the conversation shown; the greeting stays. */
  clearMessages(): void {
    for (const node of [...this.log.children]) if (!node.classList.contains('greeting')) node.remove();
  }

  private addMessage(node: HTMLElement): void {
    this.log.append(node);
    this.scrollToEnd();
  }

  private updateSend(): void {
    this.send.disabled = this.busy || this.input.disabled;
  }

  private scrollToEnd(): void {
    this.log.scrollTop = this.log.scrollHeight;
  }
}
