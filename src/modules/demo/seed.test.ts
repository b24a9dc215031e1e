/** When `palisade serve` creates the demo: a try-out on one's own machine, or when asked. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { demoWanted } from './seed.ts';

const tls = { certFile: 'c.pem', keyFile: 'k.pem' };

test('the demo is on by default only on a loopback address without TLS; --demo and --no-demo decide otherwise', () => {
  for (const host of ['127.0.0.1', '127.0.1.1', '::1', 'localhost']) assert.equal(demoWanted(undefined, { host, tls: undefined }), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.5', 'palisade.example.com']) assert.equal(demoWanted(undefined, { host, tls: undefined }), false, host);
  assert.equal(demoWanted(undefined, { host: '127.0.0.1', tls }), false, 'over TLS');
  assert.equal(demoWanted(true, { host: '0.0.0.0', tls }), true, '--demo');
  assert.equal(demoWanted(false, { host: '127.0.0.1', tls: undefined }), false, '--no-demo');
});
