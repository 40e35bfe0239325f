import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/report/analyze.js';
import { ALL_FINDING_CODES, reachesSeverity } from '../../src/domain/finding-codes.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';

const R = 'registry.example:5000';

describe('running-superseded', () => {
  it('flags a running container whose tag now points to another image on the node, with both digests', () => {
    const b = new SnapshotBuilder();
    const old = b.image('web-v1', [], [`${R}/shop/web`]);
    const cur = b.image('web-v2', [`${R}/shop/web:1.0`]);
    b.withMeta(old.id, { version: '1.0.0' }).withMeta(cur.id, { version: '1.0.1' });
    b.pod({ ns: 'shop', name: 'web-abc', container: 'web', image: `${R}/shop/web:1.0`, imageId: old.id, owner: { kind: 'Deployment', name: 'web' } });
    const report = analyze(b.build());
    const f = report.findings.filter((x) => x.code === 'running-superseded');
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({
      severity: 'warning',
      image: `${R}/shop/web:1.0`,
      containers: [{ namespace: 'shop', pod: 'web-abc', container: 'web' }],
      evidence: { runningDigest: old.digest, nodeDigest: cur.digest, runningImageId: old.id, nodeImageId: cur.id, runningBuild: { version: '1.0.0' }, nodeBuild: { version: '1.0.1' } },
    });
    expect(f[0]!.remediation).toContain('kubectl -n shop rollout restart deployment/web');
    expect(f[0]!.remediation).toContain(`kubectl -n shop set image deployment/web web=${R}/shop/web@${cur.digest}`);
  });

  it('groups every container of the same (tag, old image, new image) into one finding', () => {
    const b = new SnapshotBuilder();
    const old = b.image('v1', [], [`${R}/a`]);
    b.image('v2', [`${R}/a:1`]);
    b.pod({ name: 'p1', image: `${R}/a:1`, imageId: old.id, owner: { kind: 'Deployment', name: 'a' } });
    b.pod({ name: 'p2', image: `${R}/a:1`, imageId: old.id, owner: { kind: 'Deployment', name: 'a' } });
    const f = analyze(b.build()).findings.filter((x) => x.code === 'running-superseded');
    expect(f).toHaveLength(1);
    expect(f[0]!.containers.map((c) => c.pod)).toEqual(['p1', 'p2']);
    expect(f[0]!.remediation.match(/rollout restart/g)).toHaveLength(1);
  });

  it('is silent when the container runs what the tag points to', () => {
    const b = new SnapshotBuilder();
    const cur = b.image('v1', [`${R}/a:1`]);
    b.pod({ name: 'p', image: `${R}/a:1`, imageId: cur.id });
    expect(analyze(b.build()).findings.filter((x) => x.code === 'running-superseded')).toEqual([]);
  });

  it('is silent for a digest-pinned reference even when a tag moved', () => {
    const b = new SnapshotBuilder();
    const old = b.image('v1', [], [`${R}/a`]);
    b.image('v2', [`${R}/a:1`]);
    b.pod({ name: 'p', image: `${R}/a:1@${old.digest}`, imageId: old.id });
    expect(analyze(b.build()).findings).toEqual([]);
  });

  it('ignores exited containers', () => {
    const b = new SnapshotBuilder();
    const old = b.image('v1', [], [`${R}/a`]);
    b.image('v2', [`${R}/a:1`]);
    b.pod({ name: 'p', image: `${R}/a:1`, imageId: old.id, state: 'exited' });
    expect(analyze(b.build()).findings).toEqual([]);
  });

  it('matches short names the way containerd normalises them', () => {
    const b = new SnapshotBuilder();
    const old = b.image('n1', [], ['docker.io/library/nginx']);
    b.image('n2', ['docker.io/library/nginx:1.25']);
    b.pod({ name: 'p', image: 'nginx:1.25', imageId: old.id });
    const f = analyze(b.build()).findings.find((x) => x.code === 'running-superseded');
    expect(f?.image).toBe('docker.io/library/nginx:1.25');
  });

  it("containerd 2.x's user_specified_image never contradicts the pod spec: the pod's image wins", () => {
    const b = new SnapshotBuilder();
    const img = b.image('v1', [`${R}/a:1`]);
    b.pod({ name: 'p', image: `${R}/a:1`, imageId: img.id, userSpecifiedImage: `${R}/other:9` });
    const c = analyze(b.build()).containers.find((x) => x.pod === 'p')!;
    expect(c.image).toBe(`${R}/a:1`);
    expect(c.imageSource).toBe('pod-spec');
  });

  it('without pod intent uses user_specified_image when the runtime keeps it', () => {
    const b = new SnapshotBuilder().podsFail('not-configured');
    const old = b.image('v1', [], [`${R}/a`]);
    b.image('v2', [`${R}/a:1`]);
    b.pod({ name: 'p', image: `${R}/a:1`, imageId: old.id, apiless: true, userSpecifiedImage: `${R}/a:1` });
    const report = analyze(b.build());
    expect(report.intentSource).toBe('cri-only');
    expect(report.findings.map((f) => f.code)).toEqual(['running-superseded', 'pod-intent-unavailable']);
  });

  it('without pod intent and without user_specified_image reports no tag finding', () => {
    const b = new SnapshotBuilder().podsFail('forbidden');
    const old = b.image('v1', [], [`${R}/a`]);
    b.image('v2', [`${R}/a:1`]);
    b.pod({ name: 'p', image: `${R}/a:1`, imageId: old.id, apiless: true });
    const report = analyze(b.build());
    expect(report.findings.map((f) => f.code)).toEqual(['pod-intent-unavailable']);
    expect(report.containers[0]!.imageSource).toBe('unknown');
  });
});

describe('mutable-tag', () => {
  it.each([
    ['IfNotPresent', 'warning'],
    ['Always', 'info'],
    ['Never', 'info'],
  ] as const)('latest with pull policy %s is %s', (policy, severity) => {
    const b = new SnapshotBuilder();
    const img = b.image('x', [`${R}/a:latest`]);
    b.pod({ name: 'p', image: `${R}/a`, imageId: img.id, policy });
    const f = analyze(b.build()).findings.find((x) => x.code === 'mutable-tag');
    expect(f?.severity).toBe(severity);
    expect(f?.evidence['implicitTag']).toBe(true);
  });

  it('latest with an unknown pull policy (no pod intent, user string kept by the runtime) is a warning', () => {
    const b = new SnapshotBuilder().podsFail('timeout');
    const img = b.image('x', [`${R}/a:latest`]);
    b.pod({ name: 'p', image: `${R}/a`, imageId: img.id, apiless: true, userSpecifiedImage: `${R}/a` });
    const f = analyze(b.build()).findings.find((x) => x.code === 'mutable-tag');
    expect(f?.severity).toBe('warning');
    expect(f?.evidence['pullPolicy']).toBe('unknown');
  });

  it('uses the configured patterns and leaves other tags alone', () => {
    const b = new SnapshotBuilder();
    const a = b.image('a', [`${R}/a:1.0`]);
    const c = b.image('c', [`${R}/c:prod-eu`]);
    b.pod({ name: 'pa', image: `${R}/a:1.0`, imageId: a.id });
    b.pod({ name: 'pc', image: `${R}/c:prod-eu`, imageId: c.id });
    expect(analyze(b.build()).findings).toEqual([]);
    const f = analyze(b.build(), { mutableTagPatterns: ['prod-*'] }).findings;
    expect(f.map((x) => x.image)).toEqual([`${R}/c:prod-eu`]);
  });

  it('skips digest-pinned references', () => {
    const b = new SnapshotBuilder();
    const img = b.image('x', [`${R}/a:latest`]);
    b.pod({ name: 'p', image: `${R}/a:latest@${img.digest}`, imageId: img.id });
    expect(analyze(b.build()).findings).toEqual([]);
  });
});

describe('source findings', () => {
  it('runtime-unavailable is critical, carries the reason, and nothing else is claimed', () => {
    const report = analyze(new SnapshotBuilder().runtimeFails('socket-missing', 'no socket').build());
    expect(report.findings.map((f) => [f.code, f.severity])).toEqual([['runtime-unavailable', 'critical']]);
    expect(report.findings[0]!.evidence['reason']).toBe('socket-missing');
    expect(report.runtime).toBeNull();
    expect(report.summary).toEqual({ critical: 1, warning: 0, info: 0 });
  });

  it('pod-intent-unavailable is info and names the reason', () => {
    const report = analyze(new SnapshotBuilder().podsFail('unreachable', 'ECONNREFUSED').build());
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({ code: 'pod-intent-unavailable', severity: 'info', evidence: { reason: 'unreachable' } });
  });
});

describe('analyze', () => {
  it('is deterministic and JSON round-trips', () => {
    const b = new SnapshotBuilder();
    const old = b.image('v1', [], [`${R}/a`]);
    b.image('v2', [`${R}/a:latest`]);
    b.pod({ name: 'p', image: `${R}/a`, imageId: old.id });
    const snap = b.build();
    const r1 = analyze(snap);
    expect(analyze(JSON.parse(JSON.stringify(snap)))).toEqual(r1);
    expect(r1.findings.map((f) => f.severity)).toEqual(['warning', 'warning']);
  });

  it('emits only catalogued codes', () => {
    const b = new SnapshotBuilder().podsFail('error');
    const old = b.image('v1', [], [`${R}/a`]);
    b.image('v2', [`${R}/a:latest`]);
    b.pod({ name: 'p', image: `${R}/a`, imageId: old.id, apiless: true, userSpecifiedImage: `${R}/a` });
    for (const f of analyze(b.build()).findings) expect(ALL_FINDING_CODES).toContain(f.code);
  });
});

describe('the --fail-on gate', () => {
  it('fails at or above the threshold, never for none', () => {
    const fs = [{ severity: 'warning' as const }, { severity: 'info' as const }];
    expect([reachesSeverity(fs, 'none'), reachesSeverity(fs, 'info'), reachesSeverity(fs, 'warning'), reachesSeverity(fs, 'critical')]).toEqual([false, true, true, false]);
    expect(reachesSeverity([], 'info')).toBe(false);
  });
});
