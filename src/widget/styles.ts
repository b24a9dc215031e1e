/**
 * The widget's look, scoped to its shadow root, and the project colour. Styles go in through a
 * constructable stylesheet where the browser has one: a host page whose CSP forbids inline
 * styles still shows the widget.
 */
import { createElement } from './host-document.ts';

const css = `
:host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;--pc-accent:#2563eb;--pc-on-accent:#fff}
*{box-sizing:border-box}
[hidden]{display:none!important}
button,textarea{font:inherit;color:inherit}
:focus-visible{outline:3px solid #111;outline-offset:2px;box-shadow:0 0 0 5px #fff}
.launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--pc-accent);color:var(--pc-on-accent);cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:grid;place-items:center}
.launcher svg{width:26px;height:26px;fill:currentColor}
.panel{position:absolute;right:0;bottom:72px;width:min(380px,calc(100vw - 40px));height:min(560px,calc(100vh - 120px));display:flex;flex-direction:column;background:#fff;border:1px solid #d4d4d8;border-radius:12px;box-shadow:0 10px 30px rgba(0,0,0,.2);overflow:hidden}
.head{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--pc-accent);color:var(--pc-on-accent)}
.head h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.close{border:0;background:transparent;color:inherit;cursor:pointer;font-size:22px;line-height:1;width:32px;height:32px;border-radius:6px}
.messages{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px}
.msg{max-width:85%;padding:8px 11px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere}
.user{align-self:flex-end;background:var(--pc-accent);color:var(--pc-on-accent)}
.assistant,.greeting{align-self:flex-start;background:#f1f5f9}
.notice{align-self:center;background:#fef3c7;color:#713f12;font-size:14px}
.failed{background:#fee2e2;color:#7f1d1d}
.sources{margin:6px 0 0;padding:0;list-style:none;font-size:13px}
.sources-label{display:block;margin-top:6px;font-size:12px;font-weight:600;color:#475569}
.citation{color:#1d4ed8}
.unavailable{margin:auto 16px;text-align:center;color:#444}
.composer{display:flex;gap:8px;padding:10px;border-top:1px solid #e4e4e7}
.composer textarea{flex:1;resize:none;min-height:40px;max-height:120px;padding:8px;border:1px solid #a1a1aa;border-radius:8px;background:#fff}
.send{border:0;border-radius:8px;padding:0 14px;background:var(--pc-accent);color:var(--pc-on-accent);cursor:pointer}
.send:disabled{opacity:.55;cursor:not-allowed}
.sr-only{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
`;

export function applyStyles(root: ShadowRoot): void {
  if ('adoptedStyleSheets' in root && 'replaceSync' in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    root.adoptedStyleSheets = [sheet];
    return;
  }
  const style = createElement('style');
  style.textContent = css;
  root.append(style);
}

/** Only a plain hex colour is taken from the server, so nothing else can reach a CSS value. */
export function applyColour(host: HTMLElement, colour: string): void {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(colour)?.[1];
  if (!hex) return;
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
  host.style.setProperty('--pc-accent', `#${full}`);
  host.style.setProperty('--pc-on-accent', luminance(full) > 0.179 ? '#111' : '#fff');
}

function luminance(hex: string): number {
  const [r = 0, g = 0, b = 0] = [0, 2, 4].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
