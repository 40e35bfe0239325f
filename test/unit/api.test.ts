import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { analyze } from '../../src/report/analyze.js';
import type { Report } from '../../src/domain/report.js';
import { ALL_FINDING_CODES } from '../../src/domain/finding-codes.js';
import { MAX_WORKLOAD_SERIES, Metrics, workloadFindingCounts } from '../../src/metrics/metrics.js';
import { buildApp, type AgentView } from '../../src/server/app.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';
import { fakeDigest } from '../fakes/fake-cri.js';

const R = 'registry.example:5000';

function sampleReport(): Report {
  const b = new SnapshotBuilder();
  const old = b.image('web-v1', [`${R}/shop/web:1.0`]);
  b.pod({ ns: 'shop', name: 'web-1', container: 'web', image: `${R}/shop/web:1.0`, imageId: old.id, owner: { kind: 'Deployment', name: 'web' } });
  const api = b.image('api', [`${R}/ops/api:latest`]);
  b.pod({ ns: 'ops', name: 'api-1', container: 'api', image: `${R}/ops/api:latest`, imageId: api.id });
  b.answer(`${R}/shop/web:1.0`, 'upstream', { ok: true, digest: fakeDigest('web-v2'), mediaType: undefined });
  b.answer(`${R}/ops/api:latest`, 'upstream', { ok: true, digest: api.digest, mediaType: undefined });
  return analyze(b.build());
}

class View implements AgentView {
  private current: Report | undefined;
  /** Called once, at the next read of the report (to change it while an answer is being made). */
  onNextRead: (() => void) | undefined;
  get report(): Report | undefined {
    const r = this.current;
    const hook = this.onNextRead;
    this.onNextRead = undefined;
    hook?.();
    return r;
  }
  status = {};
  runtimeUp = true;
  private readonly listeners: ((r: Report) => void)[] = [];
  onScan(l: (r: Report) => void): void {
    this.listeners.push(l);
  }
  set(r: Report | undefined): void {
    this.current = r;
    if (r) for (const l of this.listeners) l(r);
  }
  live() {
    return this.runtimeUp || !this.deadRuntime ? { live: true, reason: 'ok' } : { live: false, reason: 'the runtime has not answered for 301 s' };
  }
  deadRuntime = false;
  ready() {
    if (!this.report) return { ready: false, reason: 'the first scan has not finished' };
    return this.runtimeUp ? { ready: true, reason: 'ok' } : { ready: false, reason: 'the runtime is not reachable: socket-missing' };
  }
}

let app: FastifyInstance;
const view = new View();
const metrics = new Metrics({ version: 'test' }, { processMetrics: false });

beforeAll(async () => {
  app = await buildApp({ agent: view, metrics, version: 'test' });
});
afterAll(async () => app.close());

describe('HTTP API before the first scan', () => {
  it('/healthz is 503 with the reason once the agent says it cannot recover', async () => {
    view.runtimeUp = false;
    view.deadRuntime = true;
    try {
      const res = await app.inject('/healthz');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'unhealthy', reason: 'the runtime has not answered for 301 s' });
    } finally {
      view.runtimeUp = true;
      view.deadRuntime = false;
    }
  });

  it('/healthz is 200, /readyz and the data endpoints are 503 with a reason', async () => {
    view.set(undefined);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'not ready', reason: 'the first scan has not finished' });
    for (const url of ['/v1/report', '/v1/findings', '/v1/images', '/v1/containers', '/v1/registries']) {
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(503);
      expect(res.json()).toEqual({ code: 'no-report', error: 'no scan has finished yet' });
    }
  });
});

describe('HTTP API with a report', () => {
  beforeAll(() => view.set(sampleReport()));

  it('/v1/report is the scan JSON, byte for byte', async () => {
    const res = await app.inject('/v1/report');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toBe(JSON.stringify(view.report));
  });

  it('/v1/findings filters by code, severity and namespace', async () => {
    const all = (await app.inject('/v1/findings')).json() as { findings: { code: string; severity: string }[] };
    expect(all.findings.map((f) => f.code)).toContain('running-stale');
    const stale = (await app.inject('/v1/findings?code=running-stale')).json() as { findings: { code: string; evidence: object; remediation: string }[] };
    expect(stale.findings).toHaveLength(1);
    expect(stale.findings[0]!.evidence).toMatchObject({ registryDigest: fakeDigest('web-v2') });
    expect(stale.findings[0]!.remediation).toContain('kubectl -n shop set image deployment/web');
    const crit = (await app.inject('/v1/findings?severity=critical')).json() as { findings: { severity: string }[] };
    expect(crit.findings.every((f) => f.severity === 'critical')).toBe(true);
    const ops = (await app.inject('/v1/findings?namespace=ops')).json() as { findings: { containers: { namespace: string }[] }[] };
    expect(ops.findings.length).toBeGreaterThan(0);
    expect(ops.findings.every((f) => f.containers.some((c) => c.namespace === 'ops'))).toBe(true);
    expect(((await app.inject('/v1/findings?namespace=nobody')).json() as { findings: unknown[] }).findings).toEqual([]);
  });

  it('gzip for clients that accept it (large answers only), identical once decompressed', async () => {
    const { gunzipSync } = await import('node:zlib');
    const plain = await app.inject('/v1/report');
    const gz = await app.inject({ url: '/v1/report', headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['vary']).toBe('accept-encoding');
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(plain.body);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const small = await app.inject({ url: '/v1/findings?code=config-error', headers: { 'accept-encoding': 'gzip' } });
    expect(small.headers['content-encoding']).toBeUndefined();
  });

  it('a new report replaces every cached answer at once, in both encodings, also for a large report', async () => {
    const { gunzipSync } = await import('node:zlib');
    const first = view.report!;
    const gzipped = { 'accept-encoding': 'gzip' };
    const read = async (url: string): Promise<[string, string]> => {
      const gz = await app.inject({ url, headers: gzipped });
      const plain = await app.inject(url);
      return [gunzipSync(gz.rawPayload).toString('utf8'), plain.body];
    };
    expect(await read('/v1/report')).toEqual([JSON.stringify(first), JSON.stringify(first)]);
    // Over the size kept in both encodings (3,000 images ≈ 1 MiB): asked gzip first, then plain, then gzip.
    const large: Report = { ...first, generatedAt: '2030-01-01T00:00:00.000Z', images: Array.from({ length: 3_000 }, (_, i) => ({ ...first.images[0]!, id: `sha256:${String(i).padStart(64, '0')}` })) };
    view.set(large);
    expect(JSON.stringify(large).length).toBeGreaterThan(512 * 1024);
    expect(await read('/v1/report')).toEqual([JSON.stringify(large), JSON.stringify(large)]);
    expect(gunzipSync((await app.inject({ url: '/v1/report', headers: gzipped })).rawPayload).toString('utf8')).toBe(JSON.stringify(large));
    const images = JSON.parse((await app.inject('/v1/images')).body) as { generatedAt: string; images: unknown[] };
    expect([images.generatedAt, images.images.length]).toEqual([large.generatedAt, 3_000]);
    view.set(first);
    expect(await read('/v1/report')).toEqual([JSON.stringify(first), JSON.stringify(first)]);
    expect(((await app.inject('/v1/images')).json() as { images: unknown[] }).images.length).toBe(first.images.length);
    // A report arriving while a large answer is being gzipped: that answer is not kept for the new one.
    view.set(large);
    view.onNextRead = () => setImmediate(() => view.set(first));
    const inFlight = app.inject({ url: '/v1/images', headers: gzipped });
    const body = (res: Awaited<typeof inFlight>): { images: unknown[] } => JSON.parse(res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.rawPayload).toString('utf8') : res.body) as { images: unknown[] };
    expect(body(await inFlight).images.length).toBe(3_000);
    expect(view.report).toBe(first);
    expect(body(await app.inject({ url: '/v1/images', headers: gzipped })).images.length).toBe(first.images.length);
  });

  it('a bad query is a 400 that says what is wrong', async () => {
    const bad = await app.inject('/v1/findings?code=nope');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toContain('code must be one of: ');
    expect(bad.json().error).toContain('running-stale');
    const sev = await app.inject('/v1/findings?severity=high');
    expect(sev.statusCode).toBe(400);
    expect(sev.json().error).toBe('severity must be one of: critical, warning, info');
    const unknown = await app.inject('/v1/findings?sort=asc');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toBe('unknown query parameter "sort"');
    const ns = await app.inject('/v1/findings?namespace=Not_Valid');
    expect(ns.statusCode).toBe(400);
  });

  it('is read-only: other methods and unknown paths are refused', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/report' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/v1/findings' })).statusCode).toBe(404);
    expect((await app.inject('/v2/anything')).statusCode).toBe(404);
  });

  it('/v1/images, /v1/containers and /v1/registries', async () => {
    expect(((await app.inject('/v1/images')).json() as { images: unknown[] }).images).toHaveLength(2);
    const containers = (await app.inject('/v1/containers')).json() as { containers: { pod: string; runningDigest: string }[] };
    expect(containers.containers.map((c) => c.pod).sort()).toEqual(['api-1', 'web-1']);
    const reg = (await app.inject('/v1/registries')).json() as { tags: { repository: string }[] };
    expect(reg.tags.map((t) => t.repository).sort()).toEqual(['ops/api', 'shop/web']);
  });

  it('/readyz follows runtime reachability', async () => {
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    view.runtimeUp = false;
    expect((await app.inject('/readyz')).json()).toMatchObject({ reason: expect.stringContaining('socket-missing') });
    view.runtimeUp = true;
  });

  it('/openapi.json documents every route with its query parameters and responses', async () => {
    const doc = (await app.inject('/openapi.json')).json() as { openapi: string; paths: Record<string, { get: { parameters: { name: string; schema: { enum?: string[] } }[]; responses: Record<string, unknown> } }> };
    expect(doc.openapi).toBe('3.0.3');
    for (const p of ['/healthz', '/readyz', '/v1/report', '/v1/findings', '/v1/images', '/v1/containers', '/v1/registries', '/metrics']) expect(doc.paths[p], p).toBeDefined();
    const code = doc.paths['/v1/findings']!.get.parameters.find((x) => x.name === 'code')!;
    expect(code.schema.enum).toEqual(ALL_FINDING_CODES);
    expect(Object.keys(doc.paths['/v1/findings']!.get.responses).sort()).toEqual(['200', '400', '503']);
  });
});

describe('metrics', () => {
  const seriesCount = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#')).length;

  it('every catalogued code is pre-set to 0 before any scan', async () => {
    const m = new Metrics({ version: 't' }, { processMetrics: false });
    const text = await m.render();
    for (const code of ALL_FINDING_CODES) expect(text).toContain(`tagdrift_findings{code="${code}",severity="critical"} 0`);
  });

  it('reflects the latest scan (findings by code and severity, tags, runtime up)', async () => {
    const m = new Metrics({ version: 't' }, { processMetrics: false });
    m.updateFromScan(sampleReport(), 120, true);
    const text = await m.render();
    expect(text).toContain('tagdrift_findings{code="running-stale",severity="critical"} 1');
    expect(text).toContain('tagdrift_tags_checked{result="stale"} 1');
    expect(text).toContain('tagdrift_tags_checked{result="fresh"} 1');
    expect(text).toContain('tagdrift_runtime_up 1');
    expect(text).toMatch(/tagdrift_last_successful_scan_timestamp_seconds \d+/);
    expect(text).toContain('tagdrift_scans_total{result="success"} 1');
    // The next scan replaces the counts instead of adding to them.
    m.updateFromScan(sampleReport(), 120, true);
    expect(await m.render()).toContain('tagdrift_findings{code="running-stale",severity="critical"} 1');
  });

  it('the series count does not grow with the number of images (1, 100, 1,000)', async () => {
    const counts: number[] = [];
    for (const n of [1, 100, 1000]) {
      const b = new SnapshotBuilder();
      for (let i = 0; i < n; i++) {
        const img = b.image(`img-${i}`, [`${R}/app${i}:1`]);
        b.pod({ ns: `ns${i % 7}`, name: `p-${i}`, image: `${R}/app${i}:1`, imageId: img.id });
        b.answer(`${R}/app${i}:1`, 'upstream', i % 3 === 0 ? { ok: true, digest: fakeDigest(`x${i}`), mediaType: undefined } : { ok: false, kind: 'unreachable', message: 'x' });
      }
      const m = new Metrics({ version: 't' }, { processMetrics: false });
      m.observeRuntimeCall('ListImages', 'OK', 0.01);
      m.observeRegistryRequest(R, 'HEAD', '200');
      m.updateFromScan(analyze(b.build()), 100, true);
      const text = await m.render();
      const workload = text.split('\n').filter((l) => l.startsWith('tagdrift_workload_findings{'));
      expect(workload.length).toBeLessThanOrEqual(MAX_WORKLOAD_SERIES);
      counts.push(seriesCount(text) - workload.length - text.split('\n').filter((l) => l.startsWith('tagdrift_workload_findings_overflow{')).length);
      if (n === 1000) {
        expect(workload).toHaveLength(MAX_WORKLOAD_SERIES);
        const overflow = [...text.matchAll(/^tagdrift_workload_findings_overflow\{code="check-failed",severity="[a-z]+"\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
        expect(overflow, 'the containers beyond the cap are counted').toBeGreaterThan(0);
      }
    }
    expect(new Set(counts).size, `series other than per-workload at 1/100/1000 images: ${counts.join('/')}`).toBe(1);
  });

  it('findings about containers are routable: per namespace and owning workload, only workloads with findings', async () => {
    const m = new Metrics({ version: 't' }, { processMetrics: false });
    const r = sampleReport();
    m.updateFromScan(r, 120, true);
    const text = await m.render();
    const lines = text.split('\n').filter((l) => l.startsWith('tagdrift_workload_findings{'));
    const counts = workloadFindingCounts(r);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBe(counts.series.length);
    for (const f of r.findings) {
      for (const ref of f.containers) {
        if (!ref.namespace || !ref.pod) continue;
        const c = r.containers.find((x) => x.namespace === ref.namespace && x.pod === ref.pod && x.container === ref.container);
        const owner = c?.owner ?? { kind: 'Pod', name: ref.pod };
        expect(lines.some((l) => l.startsWith(`tagdrift_workload_findings{namespace="${ref.namespace}",owner_kind="${owner.kind}",owner_name="${owner.name}",code="${f.code}",severity="${f.severity}"}`)), `${f.code} ${ref.namespace}/${ref.pod}`).toBe(true);
      }
    }
    // Workloads without findings have no series.
    const named = new Set(r.findings.flatMap((f) => f.containers.map((c) => c.pod)));
    for (const c of r.containers.filter((x) => !named.has(x.pod))) expect(text).not.toContain(`owner_name="${c.owner?.name ?? c.pod}"`);
  });

  it("promtool check metrics finds nothing to say about tagdrift's own series", async () => {
    const m = new Metrics({ version: 't' });
    m.observeRuntimeCall('ListImages', 'OK', 0.01);
    m.observeRegistryRequest(R, 'HEAD', '200');
    m.updateFromScan(sampleReport(), 120, true, { requests: new Map(), rateLimitRemaining: new Map([['registry-1.docker.io', 87]]) });
    const text = await m.render();
    expect(text).toContain('tagdrift_workload_findings{');
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.error, 'promtool (Debian package prometheus) must be installed').toBeUndefined();
    const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
    expect(problems.filter((l) => l.startsWith('tagdrift_'))).toEqual([]);
    // What it does report is prom-client's default process metrics only.
    for (const l of problems) expect(l).toMatch(/^(nodejs_|process_)/);
  });

  it('registry host labels are capped', () => {
    const m = new Metrics({ version: 't' }, { processMetrics: false });
    for (let i = 0; i < 80; i++) m.observeRegistryRequest(`r${i}.example`, 'HEAD', '200');
    return m.render().then((t) => {
      const hosts = new Set([...t.matchAll(/tagdrift_registry_requests_total\{host="([^"]+)"/g)].map((x) => x[1]));
      expect(hosts.size).toBe(51);
      expect(hosts.has('other')).toBe(true);
    });
  });
});
