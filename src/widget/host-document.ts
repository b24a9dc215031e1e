/**
 * The host page's document, used through the prototypes' own methods and getters. HTML that a
 * visitor manages to put on the host page can shadow `document`'s members by name
 * (`<img name="currentScript">`, `<img name="body">`, `<form name="createElement">`: the DOM's
 * named properties override even built-in ones), so the widget never reads them off `document`.
 */
const proto = Document.prototype;

function getter<T>(name: 'currentScript' | 'body'): T | null {
  const get = Object.getOwnPropertyDescriptor(proto, name)?.get;
  return (get?.call(document) as T | undefined) ?? null;
}

/** The <script> element running now (only while a classic script first runs). */
export function currentScript(): HTMLScriptElement | null {
  const current = getter<unknown>('currentScript');
  return current instanceof HTMLScriptElement ? current : null;
}

export function body(): HTMLElement | null {
  return getter<HTMLElement>('body');
}

export function createElement<K extends keyof HTMLElementTagNameMap>(tag: K): HTMLElementTagNameMap[K];
export function createElement(tag: string): HTMLElement;
export function createElement(tag: string): HTMLElement {
  return proto.createElement.call(document, tag);
}

export function createElementNS(namespace: string, name: string): Element {
  return proto.createElementNS.call(document, namespace, name);
}

export function onDocument(type: string, listener: () => void, options?: AddEventListenerOptions): void {
  EventTarget.prototype.addEventListener.call(document, type, listener, options);
}
