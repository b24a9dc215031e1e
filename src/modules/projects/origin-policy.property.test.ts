import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { frameAncestors, matchOrigin, parseAllowedDomain } from './origin-policy.ts';

interface Pattern {
  readonly wildcard: boolean;
  readonly base: string;
}

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/).filter((s) => !s.startsWith('xn--'));

/** Patterns the policy accepts, in stored form. */
const patterns = fc
  .array(fc.record({ wildcard: fc.boolean(), base: fc.domain() }), { minLength: 1, maxLength: 5 })
  .map((raw) =>
    raw.filter((p) => parseAllowedDomain(`${p.wildcard ? '*.' : ''}${p.base}`).ok).map((p) => ({ ...p, base: p.base.toLowerCase() })),
  )
  .filter((list) => list.length > 0);

function stored(list: readonly Pattern[]): string[] {
  return list.map((p) => `${p.wildcard ? '*.' : ''}${p.base}`);
}

/** An independent oracle, by labels rather than string suffixes. */
function oracle(host: string, list: readonly Pattern[]): boolean {
  const labels = host.split('.');
  return list.some((p) => {
    const base = p.base.split('.');
    if (!p.wildcard) return labels.length === base.length && labels.every((l, i) => l === base[i]);
    const tail = labels.slice(labels.length - base.length);
    return labels.length > base.length && tail.every((l, i) => l === base[i]);
  });
}

/** Hosts near the listed ones (look-alikes, parents, children) as well as unrelated ones. */
const candidate = (list: readonly Pattern[]): fc.Arbitrary<string> => {
  const bases = list.map((p) => p.base);
  const base = fc.constantFrom(...bases);
  return fc.oneof(
    fc.domain().map((d) => d.toLowerCase()),
    base,
    fc.tuple(label, base).map(([l, b]) => `${l}.${b}`),
    fc.tuple(label, base).map(([l, b]) => `${l}-${b}`),
    fc.tuple(label, base).map(([l, b]) => `${l}${b}`),
    fc.tuple(base, label).map(([b, l]) => `${b}.${l}.net`),
    base.map((b) => b.split('.').slice(1).join('.')),
  );
};

describe('origin matcher properties', () => {
  it('a host matches only if listed or a true sub-domain of a listed wildcard', () => {
    fc.assert(
      fc.property(
        patterns.chain((list) => fc.tuple(fc.constant(list), candidate(list))),
        ([list, host]) => {
          const decision = matchOrigin(`https://${host}`, stored(list));
          if (decision.ok) assert.ok(oracle(host, list), `${host} matched ${stored(list).join(',')}`);
          else if (decision.reason === 'not_allowed') assert.ok(!oracle(host, list), `${host} refused`);
        },
      ),
    );
  });

  it('any prefix labels on a wildcard-listed domain match, the apex never does', () => {
    fc.assert(
      fc.property(fc.domain(), fc.array(label, { minLength: 1, maxLength: 4 }), (domain, prefix) => {
        fc.pre(parseAllowedDomain(`*.${domain}`).ok);
        const host = `${prefix.join('.')}.${domain}`;
        fc.pre(host.length <= 253);
        assert.equal(matchOrigin(`https://${host}`, [`*.${domain}`]).ok, true);
        assert.equal(matchOrigin(`https://${domain}`, [`*.${domain}`]).ok, false);
      }),
    );
  });

  it('case and a trailing dot never change the decision', () => {
    fc.assert(
      fc.property(
        patterns.chain((list) => fc.tuple(fc.constant(list), candidate(list))),
        ([list, host]) => {
          const plain = matchOrigin(`https://${host}`, stored(list));
          assert.deepEqual(matchOrigin(`https://${host.toUpperCase()}.`, stored(list)), plain);
          assert.deepEqual(matchOrigin(`https://${host}`, stored(list).map((p) => `${p.toUpperCase()}.`)), plain);
        },
      ),
    );
  });

  it('a port or scheme other than the listed one never matches', () => {
    fc.assert(
      fc.property(fc.domain(), fc.integer({ min: 1, max: 65535 }), (domain, port) => {
        fc.pre(parseAllowedDomain(domain).ok && port !== 443);
        assert.equal(matchOrigin(`https://${domain}:${port}`, [domain]).ok, false);
        assert.equal(matchOrigin(`http://${domain}`, [domain]).ok, false);
      }),
    );
  });

  it('normalisation is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.domain(), fc.webUrl()), (input) => {
        const once = parseAllowedDomain(input);
        if (once.ok) assert.deepEqual(parseAllowedDomain(once.value), once);
      }),
    );
  });

  it('frame-ancestors stays a plain source list whatever is stored', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.domain().map((d) => `*.${d}`)), { maxLength: 5 }), (list) => {
        assert.match(frameAncestors(list), /^(?:'none'|https?:\/\/(?:\*\.)?[a-z0-9.-]+(?::\d+)?(?: https?:\/\/(?:\*\.)?[a-z0-9.-]+(?::\d+)?)*)$/);
      }),
    );
  });
});
