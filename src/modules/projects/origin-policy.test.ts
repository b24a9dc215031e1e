import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  allowedDomainSchema,
  allowedDomainsSchema,
  compileAllowList,
  frameAncestors,
  matchOrigin,
  parseAllowedDomain,
} from './origin-policy.ts';

function normalised(input: string): string {
  const result = parseAllowedDomain(input);
  assert.ok(result.ok, `${input} should be accepted: ${result.ok ? '' : result.reason}`);
  return result.value;
}

function refused(input: string): string {
  const result = parseAllowedDomain(input);
  assert.equal(result.ok, false, `${input} should be refused`);
  return result.ok ? '' : result.reason;
}

function allows(origin: string, allowed: readonly string[]): boolean {
  return matchOrigin(origin, allowed).ok;
}

describe('parseAllowedDomain', () => {
  it('normalises case, a trailing dot, default ports and a redundant https://', () => {
    assert.equal(normalised('Docs.Example.COM.'), 'docs.example.com');
    assert.equal(normalised('https://docs.example.com/'), 'docs.example.com');
    assert.equal(normalised('example.com:443'), 'example.com');
    assert.equal(normalised('HTTP://example.com:80'), 'http://example.com');
    assert.equal(normalised('*.Example.com'), '*.example.com');
  });

  it('stores IDN as punycode', () => {
    assert.equal(normalised('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(normalised('*.BÜCHER.example'), '*.xn--bcher-kva.example');
    assert.equal(normalised('xn--bcher-kva.example'), 'xn--bcher-kva.example');
  });

  it('keeps explicit ports and schemes that change the meaning', () => {
    assert.equal(normalised('example.com:8443'), 'example.com:8443');
    assert.equal(normalised('localhost:4100'), 'localhost:4100');
    assert.equal(normalised('127.0.0.1:4100'), '127.0.0.1:4100');
    assert.equal(normalised('http://localhost:4100'), 'http://localhost:4100');
    assert.equal(normalised('https://localhost'), 'https://localhost');
    assert.equal(normalised('http://intranet.example.com'), 'http://intranet.example.com');
  });

  it('refuses wildcards over public suffixes, IPs, or everything', () => {
    for (const input of ['*', '*.com', '*.co.uk', '*.github.io', '*.s3.amazonaws.com', '*.localhost', '*.127.0.0.1']) {
      refused(input);
    }
    assert.match(refused('*.co.uk'), /public suffix/);
    assert.equal(normalised('*.example.co.uk'), '*.example.co.uk');
    assert.equal(normalised('*.me.github.io'), '*.me.github.io');
    // Wildcard-DNS services hand any name to anyone, though no public-suffix list says so.
    for (const input of ['*.nip.io', '*.sslip.io', '*.lvh.me', '*.localtest.me', '*.10.0.0.1.nip.io']) assert.match(refused(input), /wildcard-DNS/, input);
    assert.equal(normalised('app.127.0.0.1.nip.io'), 'app.127.0.0.1.nip.io', 'an exact name there is allowed');
  });

  it('refuses paths, credentials, whitespace, other schemes and malformed hosts', () => {
    for (const input of [
      '',
      'example.com/docs',
      'user@example.com',
      'https://user:pw@example.com',
      ' example.com',
      'exa mple.com',
      'example.com\n',
      'ftp://example.com',
      'javascript://example.com',
      'ex%61mple.com',
      'a..example.com',
      '-a.example.com',
      'a_b.example.com',
      'a*.example.com',
      '*.*.example.com',
      'example.com:0',
      'example.com:65536',
      'example.com:port',
      '[::1]',
      'xn--zz.example',
      `${'a'.repeat(64)}.example.com`,
      `${'a.'.repeat(127)}com`,
    ]) {
      refused(input);
    }
  });
});

describe('allowedDomainSchema and allowedDomainsSchema', () => {
  it('transforms to the stored form and explains a refusal', () => {
    assert.equal(allowedDomainSchema.parse('Docs.Example.com.'), 'docs.example.com');
    const result = allowedDomainSchema.safeParse('*.co.uk');
    assert.equal(result.success, false);
    assert.match(result.error?.issues[0]?.message ?? '', /public suffix/);
    assert.equal(allowedDomainSchema.safeParse('a'.repeat(254)).success, false);
  });

  it('deduplicates by stored form and caps the list at 100', () => {
    assert.deepEqual(allowedDomainsSchema.parse(['Example.com', 'example.com.', 'https://example.com', '*.example.com']), [
      'example.com',
      '*.example.com',
    ]);
    const many = Array.from({ length: 101 }, (_, i) => `d${i}.example.com`);
    assert.equal(allowedDomainsSchema.safeParse(many).success, false);
    assert.equal(allowedDomainsSchema.safeParse(many.slice(0, 100)).success, true);
  });
});

describe('matchOrigin', () => {
  it('matches an exact host and nothing around it', () => {
    const list = ['docs.example.com'];
    assert.deepEqual(matchOrigin('https://docs.example.com', list), { ok: true, origin: 'https://docs.example.com' });
    for (const origin of [
      'https://example.com',
      'https://a.docs.example.com',
      'https://evil-docs.example.com',
      'https://docs.example.com.evil.net',
      'https://docsexample.com',
    ]) {
      assert.deepEqual(matchOrigin(origin, list), { ok: false, reason: 'not_allowed' }, origin);
    }
  });

  it('matches a wildcard at any depth but never the apex or look-alikes', () => {
    const list = ['*.example.com'];
    assert.ok(allows('https://a.example.com', list));
    assert.ok(allows('https://a.b.c.example.com', list));
    assert.ok(!allows('https://example.com', list));
    assert.ok(!allows('https://evil-example.com', list));
    assert.ok(!allows('https://example.com.evil.net', list));
    assert.ok(!allows('https://a.example.com.evil.net', list));
    assert.ok(!allows('https://aexample.com', list));
    assert.ok(allows('https://example.com', [...list, 'example.com']));
  });

  it("never admits, through a wildcard, a host under a public suffix below the wildcard's base", () => {
    // Bases that are no public suffix themselves, with suffixes below them where anyone gets a name.
    const cases: [string, string][] = [
      ['*.amazonaws.com', 'https://evil.s3.amazonaws.com'],
      ['*.amazonaws.com', 'https://evil.s3-website-us-east-1.amazonaws.com'],
      ['*.amazonaws.com', 'https://evil.execute-api.us-east-1.amazonaws.com'],
      ['*.windows.net', 'https://evilacct.z13.web.core.windows.net'],
      ['*.core.windows.net', 'https://evil.blob.core.windows.net'],
      ['*.fastly.net', 'https://evil.global.ssl.fastly.net'],
    ];
    for (const [pattern, origin] of cases) {
      assert.ok(parseAllowedDomain(pattern).ok, `${pattern} itself is accepted (no public suffix)`);
      assert.deepEqual(matchOrigin(origin, [pattern]), { ok: false, reason: 'not_allowed' }, `${pattern} must not admit ${origin}`);
    }
    // Names of the base's own registrable domain still match at any depth.
    assert.ok(allows('https://console.aws.amazonaws.com', ['*.amazonaws.com']));
    assert.ok(allows('https://a.b.shop.example.co.uk', ['*.shop.example.co.uk']));
    assert.ok(allows('https://docs.me.github.io', ['*.me.github.io']));
  });

  it('ignores case and a trailing dot in the origin', () => {
    assert.deepEqual(matchOrigin('https://DOCS.Example.COM.', ['docs.example.com']), {
      ok: true,
      origin: 'https://docs.example.com',
    });
    assert.ok(allows('https://A.Example.com.', ['*.EXAMPLE.com.']));
  });

  it('matches IDN in either form', () => {
    assert.ok(allows('https://xn--bcher-kva.example', ['bücher.example']));
    assert.ok(allows('https://bücher.example', ['xn--bcher-kva.example']));
    assert.ok(allows('https://shop.xn--bcher-kva.example', ['*.bücher.example']));
    assert.ok(!allows('https://bucher.example', ['bücher.example']));
  });

  it('accepts https on the default port only, unless told otherwise', () => {
    const list = ['example.com'];
    assert.ok(allows('https://example.com:443', list));
    assert.ok(!allows('http://example.com', list));
    assert.ok(!allows('https://example.com:8443', list));
    assert.ok(allows('https://example.com:8443', ['example.com:8443']));
    assert.ok(!allows('https://example.com', ['example.com:8443']));
    assert.ok(!allows('http://example.com:8443', ['example.com:8443']));
  });

  it('accepts http only when written out, or on loopback', () => {
    assert.ok(allows('http://legacy.example', ['http://legacy.example']));
    assert.ok(allows('https://legacy.example', ['http://legacy.example']));
    assert.ok(!allows('http://legacy.example', ['https://legacy.example']));
    assert.ok(allows('http://localhost:4100', ['localhost:4100']));
    assert.ok(allows('https://localhost:4100', ['localhost:4100']));
    assert.ok(allows('http://127.0.0.1:4100', ['127.0.0.1:4100']));
    assert.ok(!allows('http://127.0.0.1:4101', ['127.0.0.1:4100']));
    assert.ok(!allows('http://localhost', ['https://localhost']));
  });

  it('accepts localhost only when listed', () => {
    assert.ok(!allows('http://localhost:4100', ['example.com']));
    assert.ok(!allows('http://127.0.0.1:4100', ['localhost:4100']));
    assert.ok(!allows('http://localhost:4100', ['127.0.0.1:4100']));
    assert.ok(!allows('http://localhost', ['localhost:4100']));
    assert.ok(allows('http://localhost', ['localhost']));
  });

  it('refuses a missing, null or malformed origin', () => {
    const list = ['example.com'];
    assert.deepEqual(matchOrigin(undefined, list), { ok: false, reason: 'missing_origin' });
    assert.deepEqual(matchOrigin('', list), { ok: false, reason: 'missing_origin' });
    assert.deepEqual(matchOrigin('null', list), { ok: false, reason: 'null_origin' });
    for (const origin of [
      'example.com',
      'https://example.com/path',
      'https://user@example.com',
      'file:///etc/passwd',
      'chrome-extension://abc',
      'https://',
      'https://exa mple.com',
    ]) {
      assert.deepEqual(matchOrigin(origin, list), { ok: false, reason: 'malformed_origin' }, origin);
    }
    assert.deepEqual(matchOrigin('http://[::1]:4100', ['localhost:4100']), { ok: false, reason: 'not_allowed' });
  });

  it('refuses every origin when no domain is allowed', () => {
    assert.deepEqual(matchOrigin('https://example.com', []), { ok: false, reason: 'no_domains' });
    assert.deepEqual(matchOrigin(undefined, []), { ok: false, reason: 'no_domains' });
    // Stored rows that no longer parse count as absent: they narrow access, never widen it.
    assert.deepEqual(matchOrigin('https://a.co.uk', ['*.co.uk', '*']), { ok: false, reason: 'no_domains' });
  });

  it('returns the canonical origin to bind a visitor token to', () => {
    assert.deepEqual(matchOrigin('http://2130706433:4100', ['127.0.0.1:4100']), {
      ok: true,
      origin: 'http://127.0.0.1:4100',
    });
    assert.deepEqual(matchOrigin('https://example.com:443/', ['example.com']), { ok: true, origin: 'https://example.com' });
  });

  it('a compiled matcher answers the same as matchOrigin', () => {
    const list = ['*.example.com', 'docs.acme.io', 'localhost:4100'];
    const matcher = compileAllowList(list);
    for (const origin of ['https://a.example.com', 'https://acme.io', 'http://localhost:4100', 'null', undefined]) {
      assert.deepEqual(matcher.match(origin), matchOrigin(origin, list));
    }
  });
});

describe('frameAncestors', () => {
  it("is 'none' for an empty list", () => {
    assert.equal(frameAncestors([]), "'none'");
    assert.deepEqual(compileAllowList([]).sources, []);
    assert.deepEqual(compileAllowList(['*.example.com', 'localhost:4100']).sources, ['https://*.example.com', 'http://localhost:4100']);
  });

  it('lists one source per pattern with the same scheme and port meaning', () => {
    assert.equal(
      frameAncestors(['docs.example.com', '*.example.com', 'example.com:8443', 'localhost:4100', 'http://legacy.example', 'docs.example.com.']),
      'https://docs.example.com https://*.example.com https://example.com:8443 http://localhost:4100 http://legacy.example',
    );
  });
});
