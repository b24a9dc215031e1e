/**
 * Entry of widget.js. Reads its own <script> tag (project id, optional identity), takes the API
 * base from the script's own origin, mounts <palisade-chat> and exposes window.Palisade.
 *
 *   <script src="https://palisade.example/widget.js" data-project-id="prj_…" async></script>
 */
import { createApiClient, type Identity } from './api.ts';
import { PalisadeChat } from './chat-element.ts';
import { checkIdentity, startWidget, type PalisadeApi } from './controller.ts';
import { createSessionStore } from './session-store.ts';
import { apiBaseOf } from './api-base.ts';
import { body, createElement, currentScript, onDocument } from './host-document.ts';

declare global {
  interface Window {
    Palisade?: PalisadeApi;
  }
}

const tag = 'palisade-chat';

function identityFrom(script: HTMLScriptElement): Identity | null {
  const { userId, userSignature, userToken } = script.dataset;
  if (!userToken && !(userId && userSignature)) return null;
  try {
    return checkIdentity(userToken ? { token: userToken } : { userId, signature: userSignature });
  } catch {
    console.warn('Palisade: ignoring a malformed data-user-* identity');
    return null;
  }
}

function localStore(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

function boot(script: HTMLScriptElement): void {
  const projectId = script.dataset.projectId ?? '';
  const base = apiBaseOf(script.src);
  if (!/^prj_[\w-]{1,100}$/.test(projectId) || base === null) {
    console.error('Palisade: widget.js needs data-project-id="prj_…"');
    return;
  }
  customElements.define(tag, PalisadeChat);
  const view = createElement(tag) as PalisadeChat;
  const identity = identityFrom(script);
  const api = createApiClient({
    base,
    projectId,
    store: createSessionStore(base, projectId, localStore()),
    identity,
    now: () => Date.now(),
  });
  window.Palisade = startWidget(view, api, identity !== null);
  const mount = (): void => void body()?.append(view);
  if (body()) mount();
  else onDocument('DOMContentLoaded', mount, { once: true });
}

// Read through the browser's own getter, never by searching the page: an injected
// `<script src="https://elsewhere/widget.js">` that the page's CSP never ran stays in the DOM and
// would otherwise hand the widget, with its stored session, to another server.
const script = currentScript();
// A second copy of the script on the same page leaves the first one in charge. Whether one ran is
// told by the custom element it defines: `window.Palisade` could be an injected `<img name>`.
if (!script) console.error('Palisade: load widget.js with its own <script src=… data-project-id=…> tag');
else if (!customElements.get(tag)) boot(script);
