/**
 * The widget in a real headless Chromium (Debian's chromium, driven by playwright-core): on an
 * allowed origin a question gets a streamed answer with a citation; on a second local origin
 * that is not allowed, the widget says it is unavailable and the server recorded the refusal.
 * Screenshots of both are saved in test-artifacts/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startDemoSite, type DemoSite } from '../src/modules/demo/demo-site.ts';
import type { OriginRefusal } from '../src/modules/widget/origin-guard.ts';
import { signUp, startTestApp, type SignedUp, type TestApp } from './helpers/harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = 'test-artifacts';

let t: TestApp;
let browser: Browser;
let allowedSite: DemoSite;
let foreignSite: DemoSite;
let projectId: string;
let owner: SignedUp;
const refusals: OriginRefusal[] = [];

describe('widget in a real browser', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (.ci/run installs it)` }, () => {
  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    t = await startTestApp({ onOriginRefused: (r) => refusals.push(r) });
    owner = await signUp(t, 'Browser Org');
    const p = await owner.client.post(`/v1/orgs/${owner.orgId}/projects`, { name: 'Docs bot' });
    projectId = p.body.project.id as string;
    await owner.client.post(`/v1/projects/${projectId}/documents`, {
      title: 'Installing Palisade',
      url: 'https://docs.example.com/install',
      contentType: 'markdown',
      content: '# Installing Palisade\n\nRun npm ci and then npm start. Palisade listens on port 3000 and serves a demo site on port 3001.',
    });
    allowedSite = await startDemoSite({ host: '127.0.0.1', port: 0, apiUrl: t.url, projectId });
    foreignSite = await startDemoSite({ host: '127.0.0.1', port: 0, apiUrl: t.url, projectId });
    const r = await owner.client.patch(`/v1/projects/${projectId}`, { settings: { allowedDomains: [new URL(allowedSite.url).host] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await allowedSite?.close();
    await foreignSite?.close();
    await t?.close();
  });

  it('on an allowed origin, answers a question with a streamed answer and a citation', async () => {
    const page = await browser.newPage();
    await page.goto(allowedSite.url);
    await page.locator('[data-testid=launcher]').click();
    await page.locator('[data-testid=input]').fill('How do I start Palisade?');
    await page.keyboard.press('Enter');
    const answer = page.locator('.msg.assistant').last();
    await answer.waitFor({ timeout: 20_000 });
    await page.locator('.citation').first().waitFor({ timeout: 20_000 });
    assert.match((await answer.textContent()) ?? '', /npm start/);
    assert.match((await page.locator('.citation').first().textContent()) ?? '', /Installing Palisade/);
    await page.screenshot({ path: `${artifacts}/widget-allowed-origin.png` });
    await page.close();
  });

  it('elements a visitor injects into the host page can neither redirect nor stop the widget', async () => {
    // Injected HTML (the page's CSP runs no injected script): named elements that shadow
    // document.currentScript and window.Palisade, and a script tag naming another server.
    const html = `<!doctype html><title>Shop</title><img name="currentScript"><img name="Palisade"><img name="body">
<form name="createElement"></form><img name="addEventListener">
<script data-project-id="prj_evil" src="http://127.0.0.1:1/widget.js"></script>
<script src="${t.url}/widget.js" data-project-id="${projectId}"></script>`;
    const shop = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise<void>((resolve) => shop.listen(0, '127.0.0.1', resolve));
    const shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
    const allowed = await owner.client.patch(`/v1/projects/${projectId}`, { settings: { allowedDomains: [new URL(allowedSite.url).host, new URL(shopUrl).host] } });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    const page = await browser.newPage();
    // A session an earlier version kept under the project alone.
    await page.addInitScript((id) => localStorage.setItem(`palisade:${id}`, '{"who":"anonymous","token":"old"}'), projectId);
    const apiCalls: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/v1/')) apiCalls.push(r.url());
    });
    try {
      await page.goto(shopUrl);
      await page.locator('[data-testid=launcher]').click();
      await page.locator('[data-testid=input]').fill('How do I start Palisade?');
      await page.keyboard.press('Enter');
      await page.locator('.msg.assistant').last().waitFor({ timeout: 20_000 });
      assert.ok(apiCalls.length > 0);
      assert.deepEqual(apiCalls.filter((u) => !u.startsWith(`${t.url}/v1/widget/${projectId}/`)), [], 'every call went to the real server, for the real project');
      const stored = await page.evaluate(() => Object.keys(localStorage));
      assert.deepEqual(stored, [`palisade:${t.url}:${projectId}`], 'the session is kept under the server that issued it, the old entry gone');
    } finally {
      await page.close();
      shop.close();
    }
  });

  it('on a second local origin that is not allowed, says chat is unavailable and the server recorded it', async () => {
    const page = await browser.newPage();
    await page.goto(foreignSite.url);
    await page.locator('[data-testid=launcher]').click();
    await page.locator('[data-testid=unavailable]').waitFor({ timeout: 20_000 });
    await page.screenshot({ path: `${artifacts}/widget-refused-origin.png` });
    const foreignOrigin = new URL(foreignSite.url).origin;
    assert.ok(refusals.some((r) => r.origin === foreignOrigin && r.reason === 'not_allowed'), JSON.stringify(refusals));
    await page.close();
  });
});
