import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditEventOf } from './service.ts';

const row = (action: string, metadata: unknown) => ({
  id: 'aud_1', org_id: 'org_1', action, actor_type: 'user', actor_id: 'usr_1', target_type: 'project', target_id: 'prj_1', metadata, created_at: new Date(0),
});

test('events name no client address: a lifted IP block goes out as its network, the audit row keeps it whole', () => {
  const metadata = { dimension: 'ip', key: '203.0.113.77' };
  assert.deepEqual(auditEventOf(row('rate_limit.block_lifted', metadata)).data, { dimension: 'ip', key: '203.0.113.0/24' });
  assert.deepEqual(metadata, { dimension: 'ip', key: '203.0.113.77' }, 'not changed in place');
  assert.deepEqual(auditEventOf(row('rate_limit.block_lifted', { dimension: 'ip', key: '2001:db8:1:2::/64' })).data, { dimension: 'ip', key: '2001:db8:1::/48' }, 'an IPv6 client is keyed by its /64');
  assert.deepEqual(auditEventOf(row('rate_limit.block_lifted', { dimension: 'session', key: 'vss_1' })).data, { dimension: 'session', key: 'vss_1' });
});
