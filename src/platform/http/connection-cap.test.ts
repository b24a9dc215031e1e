import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Server } from 'node:net';
import { test } from 'node:test';
import { clientKeyForIp } from '../../modules/rate-limits/ip.ts';
import { installConnectionCap } from './connection-cap.ts';

class FakeSocket extends EventEmitter {
  destroyed = false;
  constructor(readonly remoteAddress: string) {
    super();
  }
  destroy(): void {
    this.destroyed = true;
  }
}

test('addresses of one IPv6 /64 share one cap; another /64 and IPv4-mapped addresses count as their client', () => {
  const server = new EventEmitter();
  const cap = installConnectionCap(server as unknown as Server, 2, clientKeyForIp);
  const connect = (address: string): FakeSocket => {
    const socket = new FakeSocket(address);
    server.emit('connection', socket);
    return socket;
  };
  const first = [connect('2001:db8:1:2::1'), connect('2001:db8:1:2::ffff')];
  assert.ok(first.every((s) => !s.destroyed));
  assert.equal(connect('2001:db8:1:2:aaaa::9').destroyed, true, 'a third address of the same /64 is over the cap');
  assert.equal(connect('2001:db8:1:3::1').destroyed, false, 'another /64 is another client');
  first[0]?.emit('close');
  assert.equal(connect('2001:db8:1:2::77').destroyed, false, 'a closed socket frees its place');
  assert.equal(cap.open('2001:db8:1:2::5'), 2);
  connect('::ffff:192.0.2.1');
  assert.equal(cap.open('192.0.2.1'), 1, 'IPv4-mapped IPv6 is the IPv4 client');
});
