/**
 * The hold: a transient failure (5xx, unreachable, 429) does not erase the last answer of the
 * same endpoint for the same tag within the bound; anything else (a fresh answer, a 404, an
 * auth refusal) replaces it at once; past the bound the failure is reported as it is.
 */
import { describe, expect, it } from 'vitest';
import { AnswerHold } from '../../src/adapters/registry/answer-hold.js';
import type { RegistryLookup } from '../../src/domain/ports.js';
import type { PlannedEndpoint } from '../../src/domain/registry-config.js';
import type { TagResolved, TagUnverified } from '../../src/domain/tag-truth.js';

const E: PlannedEndpoint = { url: 'http://mirror.local:5000', capabilities: ['pull', 'resolve'], source: 'test', skipVerify: false, headerNames: [] };
const OLD: TagResolved = { ok: true, digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
const NEW: TagResolved = { ok: true, digest: `sha256:${'b'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
const fail = (kind: TagUnverified['kind']): TagUnverified => ({ ok: false, kind, message: `mirror.local:5000: ${kind}` });

function setup(holdMs = 60_000) {
  let now = Date.parse('2026-12-01T00:00:00Z');
  let next: TagResolved | TagUnverified = OLD;
  const lookup: RegistryLookup = {
    resolveTag: async () => next,
    platformImage: async () => ({ ok: false, reason: 'not read' }) as never,
    buildMeta: async () => undefined,
  };
  const hold = new AnswerHold(holdMs, () => now);
  const ask = () => hold.wrap(lookup).resolveTag(E, 'reg.example', 'shop/cart', '2');
  return { ask, set: (r: TagResolved | TagUnverified) => (next = r), tick: (ms: number) => (now += ms), hold };
}

describe('AnswerHold', () => {
  it('holds the last answer through transient failures, saying since when and why', async () => {
    const t = setup();
    expect(await t.ask()).toMatchObject({ ok: true, digest: OLD.digest, confirmedAt: '2026-12-01T00:00:00.000Z' });
    for (const kind of ['server-error', 'unreachable', 'rate-limited'] as const) {
      t.tick(10_000);
      t.set(fail(kind));
      expect(await t.ask()).toMatchObject({ ok: true, digest: OLD.digest, confirmedAt: '2026-12-01T00:00:00.000Z', held: { kind } });
    }
  });

  it('a fresh answer replaces it at once; so do a 404 and an auth refusal', async () => {
    const t = setup();
    await t.ask();
    t.set(NEW);
    expect(await t.ask()).toMatchObject({ digest: NEW.digest });
    t.set(fail('server-error'));
    expect(await t.ask()).toMatchObject({ digest: NEW.digest, held: { kind: 'server-error' } });
    for (const kind of ['not-found', 'auth'] as const) {
      t.set(fail(kind));
      expect(await t.ask()).toMatchObject({ ok: false, kind });
      t.set(fail('server-error'));
      expect(await t.ask()).toMatchObject({ ok: false, kind: 'server-error' });
      t.set(NEW);
      await t.ask();
    }
  });

  it('past the bound the failure stands as it is, and the entry is dropped', async () => {
    const t = setup(60_000);
    await t.ask();
    t.set(fail('server-error'));
    t.tick(60_001);
    expect(await t.ask()).toMatchObject({ ok: false, kind: 'server-error' });
    expect(t.hold.size).toBe(0);
  });

  it('a bound of 0 holds nothing', async () => {
    const t = setup(0);
    await t.ask();
    t.tick(1);
    t.set(fail('server-error'));
    expect(await t.ask()).toMatchObject({ ok: false, kind: 'server-error' });
  });

  it('a confirmation time in the future (a resolver\'s clock, or a lie) counts as now', async () => {
    const t = setup();
    t.set({ ...OLD, confirmedAt: '2030-01-01T00:00:00Z' });
    expect(await t.ask()).toMatchObject({ confirmedAt: '2026-12-01T00:00:00.000Z' });
  });
});
