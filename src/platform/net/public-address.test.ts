import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPublicAddress } from './public-address.ts';

describe('isPublicAddress', () => {
  it('refuses loopback, private, link-local, CGNAT, unique-local, multicast and reserved space', () => {
    const inside = ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255'];
    const inside6 = ['::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a9fe:a9fe'];
    for (const address of [...inside, ...inside6]) assert.equal(isPublicAddress(address), false, address);
  });

  it('accepts public addresses, also in their IPv4-mapped form', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) assert.equal(isPublicAddress(address), true, address);
  });

  it('refuses what is not an address at all', () => {
    for (const text of ['', 'localhost', '127.1', '1.2.3.4.5', 'example.com']) assert.equal(isPublicAddress(text), false, text);
  });
});
