import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/report/analyze.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';
import { fakeDigest } from '../fakes/fake-cri.js';

const R = 'registry.example:5000';
const TAG = `${R}/shop/web:1.0`;
const ok = (digest: string, extra: Record<string, unknown> = {}) => ({ ok: true as const, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', ...extra });
const codes = (b: SnapshotBuilder) => analyze(b.build()).findings.map((f) => f.code);

function runningOld(b: SnapshotBuilder, policy: 'IfNotPresent' | 'Always' = 'IfNotPresent') {
  const old = b.image('web-v1', [TAG]);
  b.pod({ ns: 'shop', name: 'web-1', container: 'web', image: TAG, imageId: old.id, policy, owner: { kind: 'Deployment', name: 'web' } });
  return old;
}

describe('running-stale', () => {
  it('upstream moved and the node does not hold the new digest → critical, with both digests, the endpoint and a pin command', () => {
    const b = new SnapshotBuilder();
    const old = runningOld(b);
    const now = fakeDigest('web-v2');
    b.answer(TAG, 'upstream', ok(now, { build: { version: '1.0.1', revision: 'bbb' } }), `http://${R}`);
    const report = analyze(b.build());
    const f = report.findings.filter((x) => x.code.startsWith('running-'));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      code: 'running-stale',
      severity: 'critical',
      image: TAG,
      evidence: { runningDigest: old.digest, registryDigest: now, endpoint: `http://${R}`, registryBuild: { version: '1.0.1', revision: 'bbb' } },
    });
    expect(f[0]!.remediation).toContain(`kubectl -n shop set image deployment/web web=${R}/shop/web@${now}`);
    expect(report.findings.map((x) => x.code)).not.toContain('cache-stale'); // the image is in use
  });

  it('without a known owner the fix is a restart with pull policy Always', () => {
    const b = new SnapshotBuilder();
    const old = b.image('v1', [TAG]);
    b.pod({ ns: 'shop', name: 'solo', image: TAG, imageId: old.id, policy: 'IfNotPresent' });
    b.answer(TAG, 'upstream', ok(fakeDigest('v2')));
    const f = analyze(b.build()).findings.find((x) => x.code === 'running-stale')!;
    expect(f.remediation).toMatch(/recreate pod shop\/solo.*imagePullPolicy: Always/);
  });

  it('via a mirror: evidence names the mirror and its old answer; mirror-stale is raised too', () => {
    const b = new SnapshotBuilder();
    const old = runningOld(b);
    const now = fakeDigest('web-v2');
    b.answer(TAG, 'upstream', ok(now)).answer(TAG, 'mirror', ok(old.digest), 'http://mirror.local:5001');
    const report = analyze(b.build());
    const stale = report.findings.find((x) => x.code === 'running-stale')!;
    expect(stale.evidence).toMatchObject({ mirrorEndpoint: 'http://mirror.local:5001', mirrorDigest: old.digest, registryDigest: now });
    expect(stale.remediation).toContain('drop "resolve"');
    const mirror = report.findings.find((x) => x.code === 'mirror-stale')!;
    expect(mirror).toMatchObject({ severity: 'critical', evidence: { mirrorDigest: old.digest, registryDigest: now, endpoint: 'http://mirror.local:5001' } });
    expect(mirror.containers).toEqual([{ namespace: 'shop', pod: 'web-1', container: 'web' }]);
  });

  it('a container running one platform of the upstream index is fresh', () => {
    const b = new SnapshotBuilder();
    const old = runningOld(b);
    b.answer(TAG, 'upstream', ok(fakeDigest('index'), { mediaType: 'application/vnd.oci.image.index.v1+json', children: [fakeDigest('arm'), old.digest] }));
    expect(codes(b).filter((c) => c.startsWith('running-') || c === 'cache-stale')).toEqual([]);
  });

  it('the same index digest is fresh; a different index is stale', () => {
    const b = new SnapshotBuilder();
    const old = runningOld(b);
    b.answer(TAG, 'upstream', ok(old.digest, { mediaType: 'application/vnd.oci.image.index.v1+json' }));
    expect(codes(b)).not.toContain('running-stale');
    const c = new SnapshotBuilder();
    runningOld(c);
    c.answer(TAG, 'upstream', ok(fakeDigest('other-index'), { mediaType: 'application/vnd.oci.image.index.v1+json', children: [fakeDigest('x')] }));
    expect(codes(c)).toContain('running-stale');
  });
});

describe('running-superseded with registry evidence', () => {
  it('the node already holds upstream’s digest → superseded (a restart fixes it), never also stale', () => {
    const b = new SnapshotBuilder();
    const old = b.image('v1', [], [`${R}/shop/web`]);
    const cur = b.image('v2', [TAG]);
    b.pod({ ns: 'shop', name: 'web-1', container: 'web', image: TAG, imageId: old.id, owner: { kind: 'Deployment', name: 'web' } });
    b.answer(TAG, 'upstream', ok(cur.digest));
    const f = analyze(b.build()).findings.filter((x) => x.code.startsWith('running-'));
    expect(f.map((x) => x.code)).toEqual(['running-superseded']);
    expect(f[0]!.evidence).toMatchObject({ runningDigest: old.digest, registryDigest: cur.digest, nodeDigest: cur.digest, nodeImageId: cur.id });
  });

  it('the node tag moved but upstream moved further → stale, not superseded', () => {
    const b = new SnapshotBuilder();
    const old = b.image('v1', [], [`${R}/shop/web`]);
    b.image('v2', [TAG]);
    b.pod({ ns: 'shop', name: 'web-1', image: TAG, imageId: old.id });
    b.answer(TAG, 'upstream', ok(fakeDigest('v3')));
    expect(codes(b).filter((c) => c.startsWith('running-'))).toEqual(['running-stale']);
  });

  it('upstream failed: only local evidence is used, and check-failed says why', () => {
    const b = new SnapshotBuilder();
    const old = b.image('v1', [], [`${R}/shop/web`]);
    b.image('v2', [TAG]);
    b.pod({ ns: 'shop', name: 'web-1', image: TAG, imageId: old.id });
    b.answer(TAG, 'upstream', { ok: false, kind: 'unreachable', message: `${R}: connection refused` });
    const report = analyze(b.build());
    const found = report.findings.map((f) => f.code);
    expect(found).toContain('running-superseded');
    expect(found).toContain('check-failed');
    expect(found).not.toContain('running-stale');
    const failed = report.findings.find((f) => f.code === 'check-failed')!;
    expect(failed).toMatchObject({ severity: 'info', evidence: { reason: 'unreachable', role: 'upstream' } });
    expect(failed.message).toContain('neither fresh nor stale');
  });
});

describe('unverified tags are never fresh or stale', () => {
  for (const kind of ['auth', 'not-found', 'rate-limited', 'unreachable', 'server-error', 'invalid-response'] as const) {
    it(`${kind}: no running-stale, no cache-stale, no mirror-stale — one check-failed`, () => {
      const b = new SnapshotBuilder();
      runningOld(b);
      b.answer(TAG, 'upstream', { ok: false, kind, message: 'x' }).answer(TAG, 'mirror', ok(fakeDigest('mirror')));
      const c = codes(b);
      expect(c.filter((x) => ['running-stale', 'cache-stale', 'mirror-stale', 'running-superseded'].includes(x))).toEqual([]);
      expect(c.filter((x) => x === 'check-failed')).toHaveLength(1);
    });
  }

  it('a healthy node with every tag verified has no registry finding', () => {
    const b = new SnapshotBuilder();
    const old = runningOld(b);
    const cached = b.image('other', [`${R}/tools/cli:2`]);
    b.answer(TAG, 'upstream', ok(old.digest)).answer(TAG, 'mirror', ok(old.digest)).answer(`${R}/tools/cli:2`, 'upstream', ok(cached.digest));
    expect(codes(b).filter((x) => ['running-stale', 'cache-stale', 'mirror-stale', 'check-failed', 'running-superseded'].includes(x))).toEqual([]);
  });
});

describe('cache-stale', () => {
  it('a cached tag no running container uses, whose upstream moved → warning with both digests', () => {
    const b = new SnapshotBuilder();
    const cached = b.image('cli-v1', [`${R}/tools/cli:2`]);
    const now = fakeDigest('cli-v2');
    b.answer(`${R}/tools/cli:2`, 'upstream', ok(now));
    const f = analyze(b.build()).findings.filter((x) => x.code === 'cache-stale');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ severity: 'warning', image: `${R}/tools/cli:2`, evidence: { cachedDigest: cached.digest, registryDigest: now, cachedImageId: cached.id } });
    expect(f[0]!.remediation).toContain(`crictl pull ${R}/tools/cli:2`);
  });
});

describe('per-scan tag cap', () => {
  it("running containers' tags always, then a window of cached-only tags that moves with the rotation until all were asked", async () => {
    const { capTagChecks } = await import('../../src/domain/tag-plan.js');
    const plan = (tag: string, running: boolean) => ({ target: { registry: R, repository: 'a', tag, localDigests: [], localImageIds: [], running }, chain: [], upstream: { url: `https://${R}`, capabilities: ['pull', 'resolve'], source: 's', skipVerify: false, headerNames: [] } });
    const plans = [plan('r1', true), plan('r2', true), ...Array.from({ length: 10 }, (_, i) => plan(`c${i}`, false))];
    expect(capTagChecks(plans, 20, 0)).toMatchObject({ deferred: 0 });
    const seen = new Set<string>();
    for (let rotation = 0; rotation < 4; rotation++) {
      const { plans: chosen, deferred } = capTagChecks(plans, 5, rotation);
      expect(chosen).toHaveLength(5);
      expect(deferred).toBe(7);
      expect(chosen.slice(0, 2).map((p) => p.target.tag)).toEqual(['r1', 'r2']);
      for (const p of chosen) seen.add(p.target.tag);
    }
    expect(seen.size).toBe(12); // every cached tag asked within four scans
  });
});

describe('registry requests beyond the tag lookup', () => {
  const platform = { platform: 'linux/amd64', manifest: fakeDigest('amd64-manifest'), config: fakeDigest('amd64-config') };
  const stub = (calls: string[], digest = fakeDigest('new-index')) => ({
    resolveTag: async () => ({ ok: true as const, digest, mediaType: 'application/vnd.oci.image.index.v1+json' }),
    platformImage: async () => {
      calls.push('platformImage');
      return { ok: true as const, image: platform };
    },
    buildMeta: async (_e: unknown, _r: string, _repo: string, d: string) => {
      calls.push(`buildMeta ${d === platform.manifest ? 'platform' : 'top'}`);
      return { version: '2' };
    },
  });
  const endpoint = (url: string) => ({ url, capabilities: ['pull', 'resolve'], source: 's', skipVerify: false, headerNames: [] });
  const plan = (url: string, registry: string, localImageIds: string[] = [fakeDigest('old-config')]) => [{
    target: { registry, repository: 'library/nginx', tag: '1.25', localDigests: [fakeDigest('old')], localImageIds, running: true },
    chain: [{ role: 'upstream' as const, endpoint: endpoint(url) }],
    upstream: endpoint(url),
  }];

  it("explain a moved index on ordinary registries: the node platform's image, then that image's build labels", async () => {
    const { collectRegistryTruth } = await import('../../src/scan/ask-registries.js');
    const calls: string[] = [];
    const [a] = await collectRegistryTruth(plan('https://ghcr.io', 'ghcr.io'), stub(calls));
    expect(calls).toEqual(['platformImage', 'buildMeta platform']);
    expect(a!.result).toMatchObject({ platformImage: platform, build: { version: '2' } });
    expect(a).toMatchObject({ position: 0, role: 'upstream' });
  });

  it('no build labels when the platform image is the one the node has (only the index moved)', async () => {
    const { collectRegistryTruth } = await import('../../src/scan/ask-registries.js');
    const calls: string[] = [];
    await collectRegistryTruth(plan('https://ghcr.io', 'ghcr.io', [platform.config]), stub(calls));
    expect(calls).toEqual(['platformImage']);
  });

  it('Docker Hub: the platform read only (the client spends it from its GET budget), never build labels', async () => {
    const { collectRegistryTruth } = await import('../../src/scan/ask-registries.js');
    const calls: string[] = [];
    const [a] = await collectRegistryTruth(plan('https://registry-1.docker.io', 'docker.io'), stub(calls));
    expect(calls).toEqual(['platformImage']);
    expect(a!.result).toMatchObject({ ok: true, digest: fakeDigest('new-index'), platformImage: platform });
  });

  it('nothing beyond HEAD when the answer is a digest the node has', async () => {
    const { collectRegistryTruth } = await import('../../src/scan/ask-registries.js');
    const calls: string[] = [];
    await collectRegistryTruth(plan('https://ghcr.io', 'ghcr.io'), stub(calls, fakeDigest('old')));
    expect(calls).toEqual([]);
  });
});

describe('table output during a registry outage', () => {
  it('many tags failing at one endpoint for one reason are one block; a few stay separate', async () => {
    const { renderTable } = await import('../../src/render/table.js');
    const b = new SnapshotBuilder();
    for (let i = 0; i < 10; i++) {
      const img = b.image(`svc${i}`, [`${R}/team/svc${i}:1.0`]);
      b.pod({ ns: 'team', name: `svc${i}`, image: `${R}/team/svc${i}:1.0`, imageId: img.id });
      b.answer(`${R}/team/svc${i}:1.0`, 'upstream', { ok: false, kind: 'unreachable', message: `${R}: connection refused` });
    }
    const two = new SnapshotBuilder();
    for (let i = 0; i < 2; i++) {
      two.image(`x${i}`, [`${R}/x${i}:1`]);
      two.answer(`${R}/x${i}:1`, 'upstream', { ok: false, kind: 'auth', message: `${R}: HTTP 401` });
    }
    const text = renderTable(analyze(b.build()), false);
    expect(text.match(/check-failed/g)).toHaveLength(1);
    expect(text).toContain(`check-failed  10 tags at https://${R} (upstream)`);
    expect(text).toContain('... and 5 more (-o json lists them)');
    expect(text).toContain('0 critical, 0 warning, 10 info');
    expect(renderTable(analyze(two.build()), false).match(/check-failed/g)).toHaveLength(2);
  });
});
