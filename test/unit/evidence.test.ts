import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../src/report/analyze.js';
import { renderFindings } from '../../src/render/table.js';
import { renderHtml } from '../../src/render/html.js';
import { digestsOf, buildsOf, isStale, eventReason, DIGEST_ROLES } from '../../src/domain/evidence.js';
import { ALL_FINDING_CODES, FINDING_CODES } from '../../src/domain/finding-codes.js';
import { mergeReports } from '../../src/cluster/merge.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';
import { fakeDigest } from '../fakes/fake-cri.js';

const R = 'registry.example:5000';
const TAG = `${R}/shop/web:1.0`;
const ok = (digest: string, extra: Record<string, unknown> = {}) => ({ ok: true as const, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', ...extra });

/** A node with one of each registry finding: stale through a mirror, a stale cache entry, a superseded container. */
function busyNode() {
  const b = new SnapshotBuilder();
  const old = b.image('web-v1', [TAG]);
  b.pod({ ns: 'shop', name: 'web-1', container: 'web', image: TAG, imageId: old.id, owner: { kind: 'Deployment', name: 'web' } });
  b.answer(TAG, 'upstream', ok(fakeDigest('web-v2'), { build: { version: '1.0.1' } })).answer(TAG, 'mirror', ok(old.digest), 'http://mirror.local:5001');
  b.image('cli-v1', [`${R}/tools/cli:2`]);
  b.answer(`${R}/tools/cli:2`, 'upstream', ok(fakeDigest('cli-v2')));
  const api1 = b.image('api-v1', [], [`${R}/shop/api`]);
  const api2 = b.image('api-v2', [`${R}/shop/api:1`]);
  b.pod({ ns: 'shop', name: 'api-1', container: 'api', image: `${R}/shop/api:1`, imageId: api1.id });
  b.answer(`${R}/shop/api:1`, 'upstream', ok(api2.digest));
  const tool = b.image('tool-v1', [`${R}/ops/tool:latest`]);
  b.pod({ ns: 'ops', name: 'tool-1', container: 'tool', image: `${R}/ops/tool:latest`, imageId: tool.id, policy: 'IfNotPresent' });
  b.answer(`${R}/ops/tool:latest`, 'upstream', ok(tool.digest));
  return analyze(b.build());
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('typed evidence', () => {
  it('no source file reads evidence by a string key, and no digest key is spelled outside the evidence module', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles('src')) {
      const rel = relative('.', file);
      if (rel === join('src', 'domain', 'evidence.ts')) continue;
      const text = readFileSync(file, 'utf8');
      if (/evidence\s*\[/.test(text)) offenders.push(`${rel}: evidence[...]`);
      if (/['"`](running|cached|node|mirror|registry)(Digest|Build)['"`]/.test(text)) offenders.push(`${rel}: a digest key as a string`);
    }
    expect(offenders).toEqual([]);
  });

  it('every digest a check records is one its code declares, so the table, the page, Events and the cluster merge show it', () => {
    const report = busyNode();
    expect(new Set(report.findings.map((f) => f.code))).toEqual(new Set(['running-stale', 'mirror-stale', 'cache-stale', 'running-superseded', 'mutable-tag']));
    for (const f of report.findings) {
      const recorded = Object.entries(f.evidence).filter(([k, v]) => k.endsWith('Digest') && typeof v === 'string').map(([k]) => k).sort();
      expect(digestsOf(f).map((d) => d.key).sort(), f.code).toEqual(recorded);
      const builds = Object.keys(f.evidence).filter((k) => k.endsWith('Build')).sort();
      expect(buildsOf(f).map((b) => `${b.role}Build`).sort(), f.code).toEqual(builds);
    }
    const table = renderFindings(report.findings, { color: false, wide: true });
    for (const f of report.findings) for (const d of digestsOf(f)) expect(table).toContain(`${d.key} ${d.digest}`);
    expect(table).toContain('registry build 1.0.1');
  });

  it('catalogue roles are all real digest roles, and only codes with pods are posted as Events', () => {
    for (const code of ALL_FINDING_CODES) {
      for (const r of FINDING_CODES[code].digests) expect(DIGEST_ROLES).toContain(r);
    }
    // An Event is posted on a pod: codes about the node's configuration or cache have none to post on.
    expect(ALL_FINDING_CODES.filter((c) => eventReason({ code: c }))).toEqual(['running-stale', 'mirror-stale', 'running-superseded']);
  });

  it('"stale" is one catalogue property, read the same by the table, the page and the metrics', async () => {
    const report = busyNode();
    const staleTags = new Set(report.findings.filter(isStale).map((f) => f.image));
    expect([...staleTags].sort()).toEqual([TAG, `${R}/tools/cli:2`].sort());
    expect(renderFindings(report.findings, false)).toMatch(/; 2 tags stale \(a newer image is behind the tag\)$/);
    expect(renderHtml(report)).toContain('<strong>2</strong> tags stale');
    const { Metrics } = await import('../../src/metrics/metrics.js');
    const m = new Metrics({ version: 'test' } as never, { processMetrics: false });
    const truth = [TAG, `${R}/tools/cli:2`, `${R}/shop/api:1`, `${R}/ops/tool:latest`].map((t) => {
      const [repoPath, tag] = [t.slice(R.length + 1, t.lastIndexOf(':')), t.slice(t.lastIndexOf(':') + 1)];
      return { registry: R, repository: repoPath, tag, role: 'upstream', endpoint: `http://${R}`, result: { ok: true, digest: 'sha256:x' } };
    });
    m.updateFromScan({ ...report, registryTruth: truth } as never, 1, true);
    const text = await m.registry.metrics();
    expect(text).toContain('tagdrift_tags_checked{result="stale"} 2');
    expect(text).toContain('tagdrift_tags_checked{result="fresh"} 2');
  });

  it('evidence from another agent is read defensively: a non-string digest is not shown, a foreign code names none', () => {
    const hostile = { code: 'running-stale', evidence: { runningDigest: { toString: 'x' }, registryDigest: 'sha256:ok', registryBuild: 'not an object' } } as never;
    expect(digestsOf(hostile)).toEqual([{ role: 'registry', key: 'registryDigest', digest: 'sha256:ok' }]);
    expect(buildsOf(hostile)).toEqual([]);
    expect(digestsOf({ code: 'from-a-newer-agent', evidence: { runningDigest: 'sha256:a' } } as never)).toEqual([]);
  });

  it('the cluster merge keys a finding by the digests its code declares: two nodes with different old digests stay two findings', () => {
    const a = busyNode();
    const other = { ...a, findings: a.findings.map((f) => (f.code === 'cache-stale' ? { ...f, evidence: { ...f.evidence, cachedDigest: fakeDigest('cli-v0') } } : f)) };
    const merged = mergeReports([
      { node: 'n1', status: 'ok', report: a, source: 'x', durationMs: 1 },
      { node: 'n2', status: 'ok', report: other, source: 'y', durationMs: 1 },
    ] as never, '2026-01-01T00:00:00Z', () => true);
    const cache = merged.groups.flatMap((g) => g.findings).filter((f) => f.code === 'cache-stale');
    expect(cache.map((f) => f.nodes)).toEqual([['n1'], ['n2']]);
    const mirror = merged.groups.flatMap((g) => g.findings).filter((f) => f.code === 'mirror-stale');
    expect(mirror.map((f) => f.nodes)).toEqual([['n1', 'n2']]);
  });
});
