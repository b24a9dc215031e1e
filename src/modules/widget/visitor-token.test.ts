/** Visitor tokens: bound to project, origin, identity secret version and visitor-sessions epoch. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { createVisitorTokens, type VisitorClaims } from './visitor-token.ts';

const secret = new Uint8Array(32).fill(9);
const tokens = createVisitorTokens(secret, 'https://palisade.test');
const now = new Date('2026-12-07T10:00:00Z');
const claims: VisitorClaims = { visitorId: 'vis_1', sessionId: 'ses_1', projectId: 'prj_1', origin: 'https://a.test', verified: false, identityVersion: null, sessionsEpoch: 3 };
const expect = { projectId: 'prj_1', origin: 'https://a.test', identityVersion: null, sessionsEpoch: 3 };

test('a token of the current epoch is accepted, one of an earlier epoch refused', async () => {
  const { token } = await tokens.issue(claims, now);
  assert.equal((await tokens.verify(token, expect, now)).sessionsEpoch, 3);
  await assert.rejects(tokens.verify(token, { ...expect, sessionsEpoch: 4 }, now), (e: { code?: string }) => e.code === 'invalid_visitor_token');
  // An instance whose cached project is a moment behind accepts a token issued after the ending.
  assert.equal((await tokens.verify(token, { ...expect, sessionsEpoch: 2 }, now)).sessionsEpoch, 3);
});

test('a token issued before epochs existed counts as epoch 0: ended by the first ending', async () => {
  const iat = Math.floor(now.getTime() / 1000);
  const old = await new SignJWT({ sid: 'ses_1', pid: 'prj_1', orn: 'https://a.test', vfd: false, ivr: null })
    .setProtectedHeader({ alg: 'HS256', typ: 'palisade-visitor+jwt' })
    .setSubject('vis_1')
    .setIssuer('https://palisade.test')
    .setAudience('palisade-widget')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(secret);
  assert.equal((await tokens.verify(old, { ...expect, sessionsEpoch: 0 }, now)).visitorId, 'vis_1');
  await assert.rejects(tokens.verify(old, { ...expect, sessionsEpoch: 1 }, now));
});
