import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLocalNetworkAddress, isPrivateNetworkAddress, isPublicAddress } from './public-address.ts';

describe('isPublicAddress', () => {
  it('refuses loopback, private, link-local, CGNAT, unique-local, multicast and reserved space', () => {
    const inside = ['127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255'];
    const inside6 = ['::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a9fe:a9fe'];
    for (const address of [...inside, ...inside6]) assert.equal(isPublicAddress(address), false, address);
  });

  it('accepts public addresses, also in their IPv4-mapped form', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) assert.equal(isPublicAddress(address), true, address);
  });

  it('refuses IPv6 forms that carry an IPv4 address where it cannot be judged, in any spelling', () => {
    const carriers = [
      '::7f00:1', // IPv4-compatible
      '::127.0.0.1',
      '::8.8.8.8',
      '0:0:0:0:0:0:808:808',
      '::ffff:0:7f00:1', // IPv4-translated
      '::ffff:0:8.8.8.8',
      '64:ff9b:1::808:808', // local-use NAT64
      '64:ff9b:1:ffff:ffff:ffff:ffff:ffff',
      '2002:7f00:1::1', // 6to4
      '2002:808:808::1',
      '2002::',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
      '2001::1',
    ];
    for (const address of carriers) assert.equal(isPublicAddress(address), false, address);
  });

  it('judges IPv4-mapped and well-known NAT64 addresses by the IPv4 address, however they are written', () => {
    const inside = ['0:0:0:0:0:ffff:7f00:1', '::FFFF:A9FE:A9FE', '64:ff9b::7f00:1', '64:ff9b:0:0:0:0:7f00:1', '64:ff9b::0:a9fe:a9fe', '0064:ff9b:0000::10.0.0.1', '64:ff9b::', '64:ff9b::1'];
    for (const address of inside) assert.equal(isPublicAddress(address), false, address);
    for (const address of ['0:0:0:0:0:ffff:808:808', '64:ff9b:0:0:0:0:808:808', '64:ff9b::8.8.8.8', '64:FF9B::101:101']) assert.equal(isPublicAddress(address), true, address);
  });

  it('still accepts public addresses next to the blocked ranges', () => {
    for (const address of ['2001:4860:4860::8888', '2001:1::1', '2003::1', '64:ff9b:2::1']) assert.equal(isPublicAddress(address), true, address);
  });

  it('refuses an address with a zone id', () => {
    for (const address of ['fe80::1%eth0', '2606:4700:4700::1111%1']) assert.equal(isPublicAddress(address), false, address);
  });

  it('refuses what is not an address at all', () => {
    for (const text of ['', 'localhost', '127.1', '1.2.3.4.5', 'example.com']) assert.equal(isPublicAddress(text), false, text);
  });
});

describe('isPrivateNetworkAddress (ANSWER_ALLOW_PRIVATE_NETWORKS)', () => {
  it('accepts loopback, RFC 1918, carrier-grade NAT and unique-local addresses', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', '::1', 'fd12:3456::1', '::ffff:10.0.0.1']) assert.equal(isPrivateNetworkAddress(address), true, address);
  });

  it('refuses link-local space (cloud metadata), the metadata endpoints inside private ranges, multicast, reserved and public space', () => {
    for (const address of ['169.254.169.254', '::ffff:169.254.169.254', 'fe80::1', 'fe80::1%eth0', '100.100.100.200', 'fd00:ec2::254', '0.0.0.0', '224.0.0.1', '255.255.255.255', 'ff02::1', '::', '8.8.8.8', 'not an address']) {
      assert.equal(isPrivateNetworkAddress(address), false, address);
    }
  });
});

describe('isLocalNetworkAddress (where a proxy of one\'s own sits)', () => {
  it('accepts loopback, private, carrier-grade NAT and link-local addresses; refuses public ones and zone ids', () => {
    for (const address of ['127.0.0.1', '10.0.0.1', '172.20.1.1', '192.168.0.1', '100.64.0.1', '169.254.1.1', '::1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1']) assert.equal(isLocalNetworkAddress(address), true, address);
    for (const address of ['8.8.8.8', '2606:4700::1', 'fe80::1%eth0', 'junk']) assert.equal(isLocalNetworkAddress(address), false, address);
  });
});
