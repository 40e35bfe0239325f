/**
 * Multi-platform images and mirror chains, on snapshot fixtures: a verdict is drawn
 * from the image the node's platform runs (not the index digest), and from the host
 * containerd's resolver would really use (its chain of resolve-capable hosts).
 */
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/report/analyze.js';
import { compareAnswers, compareWithLocal, truthByTag, type TagAnswer } from '../../src/domain/tag-truth.js';
import { pickPlatformChild } from '../../src/adapters/registry/platform.js';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';
import { fakeDigest } from '../fakes/fake-cri.js';

const R = 'registry.example:5000';
const TAG = `${R}/shop/web:1.0`;
const INDEX = 'application/vnd.oci.image.index.v1+json';
const index = (seed: string, config: string, extra: Record<string, unknown> = {}) => ({
  ok: true as const,
  digest: fakeDigest(seed),
  mediaType: INDEX,
  platformImage: { platform: 'linux/amd64', manifest: fakeDigest(`${seed}-amd64`), config },
  ...extra,
});
const fail = (kind: 'not-found' | 'unreachable' | 'rate-limited' | 'auth' | 'server-error', host: string) => ({ ok: false as const, kind, message: `${host}: ${kind}` });

function node() {
  const b = new SnapshotBuilder();
  const old = b.image('web-v1', [TAG]);
  b.pod({ ns: 'shop', name: 'web-1', container: 'web', image: TAG, imageId: old.id, policy: 'IfNotPresent', owner: { kind: 'Deployment', name: 'web' } });
  return { b, old };
}

describe('multi-platform: the platform the node runs decides', () => {
  it('only another platform or an attestation changed (new index digest, same amd64 config) → fresh, one info tag-republished', () => {
    const { b, old } = node();
    b.answer(TAG, 'upstream', index('index-v2', old.id));
    const r = analyze(b.build());
    expect(r.findings.map((f) => f.code)).not.toEqual(expect.arrayContaining(['running-stale']));
    expect(r.findings.filter((f) => /^(running-|cache-stale|mirror-stale)/.test(f.code))).toEqual([]);
    const info = r.findings.find((f) => f.code === 'tag-republished')!;
    expect(info).toMatchObject({ severity: 'info', evidence: { runningDigest: old.digest, registryDigest: fakeDigest('index-v2'), platform: 'linux/amd64', registryImageId: old.id } });
    expect(info.message).toMatch(/linux\/amd64 image is unchanged/);
  });

  it("the node's platform changed → critical running-stale naming the platform, both index digests and both image IDs", () => {
    const { b, old } = node();
    const now = fakeDigest('config-v2');
    b.answer(TAG, 'upstream', index('index-v2', now));
    const f = analyze(b.build()).findings.find((x) => x.code === 'running-stale')!;
    expect(f).toMatchObject({
      severity: 'critical',
      evidence: { runningDigest: old.digest, registryDigest: fakeDigest('index-v2'), platform: 'linux/amd64', runningImageId: old.id, registryImageId: now, registryPlatformManifest: fakeDigest('index-v2-amd64') },
    });
    expect(f.message).toContain('linux/amd64');
  });

  it('a moved index whose platform image could not be read → running-stale as a warning that says so, never critical', () => {
    const { b } = node();
    b.answer(TAG, 'upstream', { ok: true, digest: fakeDigest('index-v2'), mediaType: INDEX, platformUnverified: 'budget spent' });
    const f = analyze(b.build()).findings.find((x) => x.code === 'running-stale')!;
    expect(f.severity).toBe('warning');
    expect(f.evidence).toMatchObject({ platformVerified: false, platformUnverified: 'budget spent' });
    expect(f.message).toMatch(/could not be verified \(budget spent\)/);
  });

  it('the node already holds the new index under the same image ID → fresh (containerd keeps one image per config)', () => {
    const b = new SnapshotBuilder();
    const old = b.image('web-v1', [TAG]);
    b.pod({ ns: 'shop', name: 'web-1', image: TAG, imageId: old.id });
    b.answer(TAG, 'upstream', { ok: true, digest: fakeDigest('index-v2'), mediaType: INDEX, children: [fakeDigest('x')] });
    const snap = b.build();
    const images = snap.images.ok ? snap.images.value : [];
    (images[0]!.repoDigests as string[]).push(`${R}/shop/web@${fakeDigest('index-v2')}`);
    expect(analyze(snap).findings.filter((f) => f.code.startsWith('running-'))).toEqual([]);
  });

  it('cache-stale follows the same rule: same platform config → nothing; other config → warning', () => {
    const b = new SnapshotBuilder();
    const cached = b.image('cli', [`${R}/tools/cli:2`]);
    b.answer(`${R}/tools/cli:2`, 'upstream', index('cli-index-v2', cached.id));
    expect(analyze(b.build()).findings.map((f) => f.code)).not.toContain('cache-stale');
    const c = new SnapshotBuilder();
    c.image('cli', [`${R}/tools/cli:2`]);
    c.answer(`${R}/tools/cli:2`, 'upstream', index('cli-index-v2', fakeDigest('other')));
    expect(analyze(c.build()).findings.find((f) => f.code === 'cache-stale')).toMatchObject({ severity: 'warning', evidence: { platform: 'linux/amd64' } });
  });

  it('compare rules: digest equality, platform config, unverifiable indexes', () => {
    const a = index('i1', fakeDigest('c1'));
    expect(compareWithLocal(a, { digest: fakeDigest('i0'), imageId: fakeDigest('c1') })).toBe('same');
    expect(compareWithLocal(a, { digest: fakeDigest('i0'), imageId: fakeDigest('c0') })).toBe('changed');
    expect(compareWithLocal({ ok: true, digest: fakeDigest('i1'), mediaType: INDEX }, { digest: fakeDigest('i0'), imageId: fakeDigest('c0') })).toBe('unverified');
    expect(compareWithLocal({ ok: true, digest: fakeDigest('m1'), mediaType: 'application/vnd.oci.image.manifest.v1+json' }, { digest: fakeDigest('m0'), imageId: undefined })).toBe('changed');
    expect(compareAnswers(index('i1', fakeDigest('c')), index('i2', fakeDigest('c')))).toBe('same');
    expect(compareAnswers(index('i1', fakeDigest('c')), index('i2', fakeDigest('d')))).toBe('changed');
    expect(compareAnswers({ ok: true, digest: fakeDigest('i1'), mediaType: INDEX }, index('i2', fakeDigest('d')))).toBe('unverified');
  });

  it("containerd's child selection: first matching entry, attestations (unknown/unknown) never, arm64 accepts v8 or no variant", () => {
    const doc = {
      manifests: [
        { digest: 'att', platform: { os: 'unknown', architecture: 'unknown' } },
        { digest: 'arm7', platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { digest: 'arm64', platform: { os: 'linux', architecture: 'arm64' } },
        { digest: 'amd', platform: { os: 'linux', architecture: 'amd64' } },
        { digest: 'amd-second', platform: { os: 'linux', architecture: 'amd64' } },
      ],
    };
    expect(pickPlatformChild(doc, { os: 'linux', architecture: 'amd64' })).toBe('amd');
    expect(pickPlatformChild(doc, { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('arm64');
    expect(pickPlatformChild(doc, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('arm7');
    expect(pickPlatformChild(doc, { os: 'linux', architecture: 'riscv64' })).toBeUndefined();
    expect(pickPlatformChild({ manifests: [{ digest: 'any' }] }, { os: 'linux', architecture: 'amd64' })).toBe('any');
  });

  it('Docker Hub: with the GET budget spent the platform read is refused without a request', async () => {
    const seen: string[] = [];
    const c = new RegistryClient({ dockerHubGetsPer6h: 0, onRequest: (h, m) => seen.push(`${m} ${h}`) });
    const got = await c.platformImage({ url: 'https://registry-1.docker.io' }, 'docker.io', 'library/nginx', fakeDigest('x'));
    expect(got).toMatchObject({ ok: false, reason: expect.stringMatching(/budget of 0 per 6 h is spent/) });
    expect(seen).toEqual([]);
    c.close();
  });
});

describe("mirror chains: containerd's host order and fallback", () => {
  const M1 = 'http://mirror-a.local:5001';
  const M2 = 'http://mirror-b.local:5002';
  const UP = `http://${R}`;

  it('first mirror lacks the repository (404), second is stale → mirror-stale names the second; the first is one info mirror-skipped', () => {
    const { b, old } = node();
    const now = fakeDigest('web-v2');
    b.answer(TAG, 'mirror', fail('not-found', M1), M1, 0)
      .answer(TAG, 'mirror', { ok: true, digest: old.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }, M2, 1)
      .answer(TAG, 'upstream', { ok: true, digest: now, mediaType: 'application/vnd.oci.image.manifest.v1+json' }, UP);
    const r = analyze(b.build());
    const ms = r.findings.filter((f) => f.code === 'mirror-stale');
    expect(ms).toHaveLength(1);
    expect(ms[0]).toMatchObject({ severity: 'critical', evidence: { endpoint: M2, mirrorDigest: old.digest, registryDigest: now, chainPosition: 1, skippedBefore: [M1] } });
    const skipped = r.findings.filter((f) => f.code === 'mirror-skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ severity: 'info', evidence: { endpoint: M1, resolvedThrough: [M2] } });
    const stale = r.findings.find((f) => f.code === 'running-stale')!;
    expect(stale.evidence).toMatchObject({ mirrorEndpoint: M2, mirrorDigest: old.digest });
    // No restart that would re-pull the mirror's old copy; the pin by digest is offered.
    expect(stale.remediation).toMatch(/First refresh http:\/\/mirror-b\.local:5002/);
    expect(stale.remediation).not.toMatch(/rollout restart/);
    expect(stale.remediation).toContain(`set image deployment/web web=${R}/shop/web@${now}`);
    expect(r.findings.filter((f) => f.code === 'check-failed')).toEqual([]);
    expect(r.findings.map((f) => f.message).join('\n')).not.toMatch(/cannot be re-created/);
  });

  it('first resolving mirror down, upstream answers the running digest → fresh; the down mirror is reported once', () => {
    const { b, old } = node();
    b.answer(TAG, 'mirror', fail('unreachable', M1), M1, 0)
      .answer(TAG, 'upstream', { ok: true, digest: old.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }, UP, 1);
    const r = analyze(b.build());
    expect(r.findings.map((f) => f.code).sort()).toEqual(['mirror-skipped', 'mutable-tag'].filter((c) => r.findings.some((f) => f.code === c)).sort());
    expect(r.findings.find((f) => f.code === 'mirror-skipped')!.evidence).toMatchObject({ endpoint: M1, resolvedThrough: [UP] });
    expect(r.findings.some((f) => /stale|check-failed/.test(f.code))).toBe(false);
  });

  it('a rate-limited mirror leaves the node\'s answer unknown: check-failed for it, no mirror-stale from a later host', () => {
    const { b, old } = node();
    b.answer(TAG, 'mirror', fail('rate-limited', M1), M1, 0)
      .answer(TAG, 'mirror', { ok: true, digest: old.digest, mediaType: 'x' }, M2, 1)
      .answer(TAG, 'upstream', { ok: true, digest: fakeDigest('v2'), mediaType: 'x' }, UP);
    const r = analyze(b.build());
    expect(r.findings.filter((f) => f.code === 'mirror-stale')).toEqual([]);
    expect(r.findings.find((f) => f.code === 'check-failed')).toMatchObject({ evidence: { endpoint: M1, role: 'mirror', reason: 'rate-limited' } });
  });

  it('mirror and upstream indexes differ but give this platform the same image → no mirror-stale', () => {
    const { b, old } = node();
    b.answer(TAG, 'mirror', index('mirror-index', old.id), M1, 0).answer(TAG, 'upstream', index('up-index', old.id), UP);
    expect(analyze(b.build()).findings.filter((f) => f.code === 'mirror-stale')).toEqual([]);
  });

  it('upstream lacks the tag but a mirror serves it: check-failed says who serves it, not "cannot be re-created"', () => {
    const { b, old } = node();
    b.answer(TAG, 'mirror', { ok: true, digest: old.digest, mediaType: 'x' }, M1, 0).answer(TAG, 'upstream', fail('not-found', R), UP);
    const f = analyze(b.build()).findings.find((x) => x.code === 'check-failed')!;
    expect(f.evidence).toMatchObject({ resolvedThrough: M1 });
    expect(f.remediation).toMatch(/only http:\/\/mirror-a\.local:5001 serves it/);
  });

  it('no finding contradicts registryTruth: every digest a finding cites is an answer in the report', () => {
    const { b, old } = node();
    b.answer(TAG, 'mirror', fail('not-found', M1), M1, 0)
      .answer(TAG, 'mirror', { ok: true, digest: old.digest, mediaType: 'x' }, M2, 1)
      .answer(TAG, 'upstream', { ok: true, digest: fakeDigest('v2'), mediaType: 'x' }, UP);
    const r = analyze(b.build());
    const answered = new Map((r.registryTruth ?? []).filter((a) => a.result.ok).map((a) => [a.endpoint, (a.result as { digest: string }).digest]));
    for (const f of r.findings) {
      const e = f.evidence as Record<string, unknown>;
      if (typeof e['mirrorEndpoint'] === 'string') expect(answered.get(e['mirrorEndpoint'])).toBe(e['mirrorDigest']);
      if (f.code === 'mirror-stale') expect(answered.get(e['endpoint'] as string)).toBe(e['mirrorDigest']);
      if (typeof e['registryDigest'] === 'string') expect(answered.get((e['upstreamEndpoint'] ?? e['endpoint']) as string)).toBe(e['registryDigest']);
    }
  });

  it('truthByTag walks the chain: skipped hosts, the resolver, and the reference', () => {
    const mk = (endpoint: string, role: 'mirror' | 'upstream', result: TagAnswer['result'], position?: number): TagAnswer => ({ registry: R, repository: 'a', tag: '1', role, endpoint, result, ...(position !== undefined ? { position } : {}) });
    const t = truthByTag([mk(M2, 'mirror', { ok: true, digest: 'd2', mediaType: 'x' }, 1), mk(M1, 'mirror', fail('server-error', M1), 0), mk(UP, 'upstream', { ok: true, digest: 'd3', mediaType: 'x' })]).get(`${R}/a:1`)!;
    expect(t.skipped.map((a) => a.endpoint)).toEqual([M1]);
    expect(t.resolver?.endpoint).toBe(M2);
    expect(t.upstream?.endpoint).toBe(UP);
  });
});
