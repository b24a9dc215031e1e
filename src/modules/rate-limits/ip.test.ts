import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clientKeyForIp, expandIpv6, formatIpv6, invalidIpKey, logNetworkOf } from './ip.ts';

test('IPv4 is kept as is', () => {
  assert.equal(clientKeyForIp('203.0.113.7'), '203.0.113.7');
  assert.equal(clientKeyForIp(' 10.0.0.1 '), '10.0.0.1');
});

test('IPv4-mapped IPv6 becomes the IPv4 address', () => {
  assert.equal(clientKeyForIp('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(clientKeyForIp('::FFFF:cb00:7107'), '203.0.113.7');
  assert.equal(clientKeyForIp('0:0:0:0:0:ffff:203.0.113.7'), '203.0.113.7');
});

test('IPv6 is grouped by /64 in canonical form', () => {
  const key = '2001:db8:aaaa:bbbb::/64';
  for (const ip of [
    '2001:db8:aaaa:bbbb::1',
    '2001:DB8:AAAA:BBBB:ffff:ffff:ffff:ffff',
    '2001:0db8:aaaa:bbbb:0000:0000:0000:0001',
    '2001:db8:aaaa:bbbb:1:2:3.4.5.6',
  ]) {
    assert.equal(clientKeyForIp(ip), key, ip);
  }
  assert.equal(clientKeyForIp('2001:db8::1'), '2001:db8::/64');
  assert.equal(clientKeyForIp('2001:db8:0:1::1'), '2001:db8:0:1::/64');
  assert.equal(clientKeyForIp('::1'), '::/64');
  assert.equal(clientKeyForIp('fe80::1%eth0'), 'fe80::/64');
  assert.equal(clientKeyForIp('64:ff9b::192.0.2.1'), '64:ff9b::/64');
  assert.notEqual(clientKeyForIp('2001:db8:aaaa:bbbc::1'), key);
});

test('a port some proxies add to X-Forwarded-For is not part of the client', () => {
  assert.equal(clientKeyForIp('203.0.113.7:5678'), '203.0.113.7');
  assert.equal(clientKeyForIp('[2001:db8:1:2::9]:443'), '2001:db8:1:2::/64');
  assert.equal(clientKeyForIp('[2001:db8:1:2::9]'), '2001:db8:1:2::/64');
  assert.equal(clientKeyForIp('[::ffff:203.0.113.7]:80'), '203.0.113.7');
  assert.notEqual(clientKeyForIp('203.0.113.8:5678'), clientKeyForIp('203.0.113.7:5678'));
});

test('anything else shares one bucket', () => {
  for (const junk of ['', 'localhost', '1.2.3', '1.2.3.256', '::g', '1:2:3:4:5:6:7:8:9', 'a::b::c', '1.2.3.256:80', '[localhost]:80', '203.0.113.7:']) {
    assert.equal(clientKeyForIp(junk), invalidIpKey, junk);
  }
});

test('formatIpv6 follows RFC 5952', () => {
  assert.equal(formatIpv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), '2001:db8::1:0:0:1');
  assert.equal(formatIpv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1');
  assert.equal(formatIpv6([0, 0, 0, 0, 0, 0, 0, 0]), '::');
});

test('expand and format round-trip for any address', () => {
  const group = fc.integer({ min: 0, max: 0xffff });
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      const text = formatIpv6(groups);
      assert.deepEqual(expandIpv6(text), groups);
      const key = clientKeyForIp(text);
      const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
      return mapped ? !key.includes(':') : key === `${formatIpv6([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
    }),
    { numRuns: 500 },
  );
});

test('logNetworkOf keeps a client network for logs: IPv4 /24, IPv6 /48, IPv4-mapped as IPv4', () => {
  assert.equal(logNetworkOf('203.0.113.77'), '203.0.113.0/24');
  assert.equal(logNetworkOf('203.0.113.77:5678'), '203.0.113.0/24');
  assert.equal(logNetworkOf('::ffff:203.0.113.77'), '203.0.113.0/24');
  assert.equal(logNetworkOf('2001:db8:1234:5678::9'), '2001:db8:1234::/48');
  assert.equal(logNetworkOf('[2001:DB8:1234:ffff::1]:443'), '2001:db8:1234::/48');
  assert.equal(logNetworkOf('not an address'), 'invalid');
  assert.equal(logNetworkOf(''), 'invalid');
});
