import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockedAddressError } from './guarded-fetch.ts';
import { createUrlPolicy } from './outbound-url.ts';

describe('outbound URLs a customer chose', () => {
  it('by default: https to public addresses only', () => {
    const strict = createUrlPolicy({ allowPrivateNetworks: false });
    strict.check('https://hooks.example.com/in');
    for (const url of ['http://hooks.example.com/in', 'https://10.0.0.8/', 'https://127.0.0.1/', 'https://localhost./', 'https://[::1]/', 'https://169.254.169.254/', 'https://u:p@example.com/', 'https://example.com/#x']) {
      assert.throws(() => strict.check(url), /invalid|must/, url);
    }
  });

  it('with private networks allowed: http to internal names and private addresses, never to a public address', async () => {
    const open = createUrlPolicy({ allowPrivateNetworks: true });
    for (const url of ['http://receiver:8080/h', 'http://hooks.svc.cluster.local/h', 'http://10.0.0.8/', 'http://127.0.0.1:9/', 'https://hooks.example.com/']) open.check(url);
    for (const url of ['http://8.8.8.8/', 'http://[2606:4700::1111]/', 'https://169.254.169.254/', 'http://100.100.100.200/']) assert.throws(() => open.check(url), /must/, url);
    // A plain http request never leaves the operator's networks, whatever the URL names.
    await assert.rejects(open.fetch('http://8.8.8.8/'), BlockedAddressError);
    await assert.rejects(open.fetch('http://1.1.1.1:80/x', { method: 'POST' }), BlockedAddressError);
    // However the scheme is spelled: a URL parser reads these as http too.
    for (const url of ['HTTP://1.1.1.1/x', 'ht\ttp://1.1.1.1/x', 'Http://8.8.8.8/']) {
      await assert.rejects(open.fetch(url, { signal: AbortSignal.abort() }), BlockedAddressError, JSON.stringify(url));
    }
  });
});
