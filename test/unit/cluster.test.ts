import http from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/report/analyze.js';
import { mergeReports } from '../../src/cluster/merge.js';
import { fetchReport } from '../../src/cluster/collect.js';
import { buildApp } from '../../src/server/app.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { ClusterReport, NodeResult } from '../../src/domain/cluster-report.js';
import type { Report } from '../../src/domain/report.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';
import { runCli } from '../helpers/cli.js';

const R = 'registry.example:5000';
const TAG = `${R}/shop/web:1.0`;

/** A node running shop/web:1.0 at `seed`'s digest (and api:latest with IfNotPresent). */
function nodeReport(node: string, seed: string, extra?: (b: SnapshotBuilder) => void): Report {
  const b = new SnapshotBuilder();
  const img = b.image(seed, [TAG]);
  b.pod({ ns: 'shop', name: `web-${node}`, container: 'web', image: TAG, imageId: img.id, owner: { kind: 'Deployment', name: 'web' } });
  const api = b.image('api', [`${R}/shop/api:latest`]);
  b.pod({ ns: 'shop', name: `api-${node}`, container: 'api', image: `${R}/shop/api:latest`, imageId: api.id, owner: { kind: 'Deployment', name: 'api' } });
  extra?.(b);
  return { ...analyze(b.build()), node };
}

const ok = (node: string, report: Report): NodeResult => ({ node, status: 'ok', source: node, report, durationMs: 1 });
const mutable = (t: string | undefined) => t === 'latest';

describe('merge (pure)', () => {
  it('digest-drift: one tag running two digests on two nodes, naming both nodes and digests', () => {
    const a = nodeReport('node-a', 'web-v1');
    const b = nodeReport('node-b', 'web-v2');
    const r = mergeReports([ok('node-a', a), ok('node-b', b)], '2026-11-23T00:00:00Z', mutable);
    const drift = r.groups.flatMap((g) => g.findings).filter((f) => f.code === 'digest-drift');
    expect(drift).toHaveLength(1);
    const d = drift[0]!;
    expect(d.image).toBe(TAG);
    expect(d.nodes).toEqual(['node-a', 'node-b']);
    const digests = d.evidence['digests'] as Record<string, { nodes: string[] }>;
    expect(Object.values(digests).map((v) => v.nodes)).toEqual([['node-a'], ['node-b']]);
    expect(Object.keys(digests).sort()).toEqual([a.containers.find((c) => c.container === 'web')!.runningDigest, b.containers.find((c) => c.container === 'web')!.runningDigest].sort());
    expect(r.groups.find((g) => g.findings.includes(d))!.workload).toBe('shop/Deployment/web');
  });

  it('no drift when two nodes recorded different index digests but run the same platform image (a re-published index)', () => {
    const a = nodeReport('node-a', 'web-v1');
    const b = nodeReport('node-b', 'web-v1');
    // node-b pulled after the index was re-published: another repo digest, the same image ID.
    const moved = (r: Report): Report => ({ ...r, platform: 'linux/amd64', containers: r.containers.map((c) => (c.container === 'web' ? { ...c, runningDigest: 'sha256:' + 'e'.repeat(64) } : c)) });
    const r = mergeReports([ok('node-a', { ...a, platform: 'linux/amd64' }), ok('node-b', moved(b))], '2026-11-23T00:00:00Z', mutable);
    expect(r.groups.flatMap((g) => g.findings).filter((f) => f.code === 'digest-drift')).toEqual([]);
  });

  it('no drift between architectures (different children of one index); drift within one architecture is still found', () => {
    const amdA = { ...nodeReport('amd-a', 'web-v1'), platform: 'linux/amd64' };
    const arm = { ...nodeReport('arm-a', 'web-arm'), platform: 'linux/arm64/v8' };
    const r = mergeReports([ok('amd-a', amdA), ok('arm-a', arm)], '2026-11-23T00:00:00Z', mutable);
    expect(r.groups.flatMap((g) => g.findings).filter((f) => f.code === 'digest-drift')).toEqual([]);
    const amdB = { ...nodeReport('amd-b', 'web-v2'), platform: 'linux/amd64' };
    const r2 = mergeReports([ok('amd-a', amdA), ok('arm-a', arm), ok('amd-b', amdB)], '2026-11-23T00:00:00Z', mutable);
    const d = r2.groups.flatMap((g) => g.findings).filter((f) => f.code === 'digest-drift');
    expect(d).toHaveLength(1);
    expect(d[0]!.nodes).toEqual(['amd-a', 'amd-b']);
    expect(d[0]!.evidence).toMatchObject({ platforms: ['linux/amd64'] });
  });

  it('no drift when every node runs the same digest; the same finding on two nodes is reported once with both nodes', () => {
    const r = mergeReports([ok('node-a', nodeReport('node-a', 'web-v1')), ok('node-b', nodeReport('node-b', 'web-v1'))], 'now', mutable);
    const all = r.groups.flatMap((g) => g.findings);
    expect(all.filter((f) => f.code === 'digest-drift')).toEqual([]);
    const mut = all.filter((f) => f.code === 'mutable-tag' && f.image === `${R}/shop/api:latest`);
    expect(mut).toHaveLength(1);
    expect(mut[0]!.nodes).toEqual(['node-a', 'node-b']);
    expect(mut[0]!.containers.map((c) => c.node)).toEqual(['node-a', 'node-b']);
  });

  it('pull-policy risk per workload: mutable tag with IfNotPresent, with the nodes', () => {
    const r = mergeReports([ok('node-a', nodeReport('node-a', 'x')), ok('node-b', nodeReport('node-b', 'x'))], 'now', mutable);
    expect(r.pullPolicyRisk).toEqual([{ workload: 'shop/Deployment/api', image: `${R}/shop/api:latest`, pullPolicy: 'IfNotPresent', nodes: ['node-a', 'node-b'] }]);
  });

  it('unreachable and agent-less nodes are listed, not fatal', () => {
    const r = mergeReports([ok('node-a', nodeReport('node-a', 'x')), { node: 'node-b', status: 'unreachable', source: 'p', error: 'ECONNREFUSED', durationMs: 5 }, { node: 'node-c', status: 'no-agent', source: 's', durationMs: 0 }], 'now', mutable);
    expect(r.nodes.map((n) => [n.node, n.status])).toEqual([['node-a', 'ok'], ['node-b', 'unreachable'], ['node-c', 'no-agent']]);
    expect(r.summary).toMatchObject({ nodes: 3, nodesOk: 1 });
  });
});

describe('tagdrift cluster through a Kubernetes API (pod proxy) with one agent down', () => {
  const api = new FakeKubeApi();
  const agents: http.Server[] = [];
  let gzipped = 0;
  const dir = mkdtempSync(join(tmpdir(), 'tagdrift-cluster-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const labels = { 'app.kubernetes.io/name': 'tagdrift', 'app.kubernetes.io/component': 'agent' };

  async function fakeAgent(report: Report | undefined): Promise<string> {
    const server = http.createServer((req, res) => {
      if (req.url !== '/v1/report') return void res.writeHead(404).end();
      if (!report) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":"no-report","error":"no scan has finished yet"}');
      // Like the agent: gzip when the client (through the API server's proxy) accepts it.
      if (/gzip/.test(String(req.headers['accept-encoding'] ?? ''))) {
        gzipped += 1;
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(JSON.stringify(report)));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    agents.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    await api.start();
    api.writeKubeconfig(kubeconfig);
    for (const n of ['node-a', 'node-b', 'node-c', 'node-d', 'node-e']) api.addNode(n);
    api.addAgentPod('tagdrift', 'tagdrift-aaaaa', 'node-a', labels, 9420, await fakeAgent(nodeReport('node-a', 'web-v1')));
    api.addAgentPod('tagdrift', 'tagdrift-bbbbb', 'node-b', labels, 9420, await fakeAgent(nodeReport('node-b', 'web-v2')));
    api.addAgentPod('tagdrift', 'tagdrift-ccccc', 'node-c', labels, 9420, undefined); // down
    api.addAgentPod('tagdrift', 'tagdrift-ddddd', 'node-d', labels, 9420, await fakeAgent(undefined)); // first scan not done
    api.addAgentPod('tagdrift', 'other-thing', 'node-a', { app: 'other' }, 9420, undefined); // not an agent
  });
  afterAll(async () => {
    for (const a of agents) a.close();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('merges the reachable nodes, lists the others, exit 0', async () => {
    const res = await runCli(['cluster', '--kubeconfig', kubeconfig, '-o', 'json']);
    expect(res.code, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout) as ClusterReport;
    expect(r.nodes.map((n) => [n.node, n.status])).toEqual([
      ['node-a', 'ok'], ['node-b', 'ok'], ['node-c', 'unreachable'], ['node-d', 'not-ready'], ['node-e', 'no-agent'],
    ]);
    expect(r.nodes.find((n) => n.node === 'node-c')!.source).toBe('pod tagdrift/tagdrift-ccccc (API proxy)');
    const drift = r.groups.flatMap((g) => g.findings).find((f) => f.code === 'digest-drift');
    expect(drift?.nodes).toEqual(['node-a', 'node-b']);
    expect(api.requests.some((q) => q.startsWith('GET /api/v1/namespaces/tagdrift/pods?labelSelector='))).toBe(true);
    expect(gzipped).toBeGreaterThanOrEqual(2); // reports came compressed through the proxy and were read
  });

  it('--fail-on warning exits 1; the table names unreachable nodes', async () => {
    expect((await runCli(['cluster', '--kubeconfig', kubeconfig, '-o', 'json', '--fail-on', 'warning'])).code).toBe(1);
    const table = await runCli(['cluster', '--kubeconfig', kubeconfig, '-o', 'wide']);
    expect(table.stdout).toMatch(/UNREACHABLE\s+node-c/);
    expect(table.stdout).toContain('digest-drift');
    expect(table.stdout).toContain('5 nodes: 2 ok, 1 unreachable, 1 not-ready, 1 no-agent');
  });

  it('no agent answers at all → exit 3, still a report listing every node', async () => {
    const res = await runCli(['cluster', '--kubeconfig', kubeconfig, '-o', 'json', '--agent-selector', 'app=other']);
    expect(res.code).toBe(3);
    const r = JSON.parse(res.stdout) as ClusterReport;
    expect(r.nodes.find((n) => n.node === 'node-a')!.status).toBe('unreachable');
  });

  it('-l selects workloads by their pods\' labels, as kubectl does; --as/--as-group impersonate; --request-timeout is accepted', async () => {
    api.upsertPod({ metadata: { name: 'web-node-a', namespace: 'shop', uid: 'w', labels: { app: 'web' } }, spec: { nodeName: 'node-a', containers: [] }, status: {} });
    api.upsertPod({ metadata: { name: 'web-node-b', namespace: 'shop', uid: 'w2', labels: { app: 'web' } }, spec: { nodeName: 'node-b', containers: [] }, status: {} });
    api.upsertPod({ metadata: { name: 'api-node-a', namespace: 'shop', uid: 'a', labels: { app: 'api' } }, spec: { nodeName: 'node-a', containers: [] }, status: {} });
    const all = JSON.parse((await runCli(['cluster', '--kubeconfig', kubeconfig, '-o', 'json'])).stdout) as ClusterReport;
    expect(all.groups.flatMap((g) => g.findings).some((f) => f.containers.some((c) => c.pod?.startsWith('api-')))).toBe(true);
    const before = api.impersonated.length;
    const res = await runCli(['cluster', '--kubeconfig', kubeconfig, '-o', 'json', '-l', 'app=web', '--as', 'jane', '--as-group', 'devs', '--as-group', 'ops', '--request-timeout', '30s']);
    expect(res.code, res.stderr).toBe(0);
    const web = JSON.parse(res.stdout) as ClusterReport;
    const containers = web.groups.flatMap((g) => g.findings).flatMap((f) => f.containers);
    expect(containers.length).toBeGreaterThan(0);
    expect(containers.every((c) => c.pod?.startsWith('web-'))).toBe(true);
    expect(web.groups.flatMap((g) => g.findings).some((f) => f.code === 'digest-drift')).toBe(true);
    expect(web.nodes.filter((n) => n.status === 'ok').map((n) => n.node)).toEqual(['node-a', 'node-b']);
    expect(api.impersonated.slice(before)).toContainEqual({ user: 'jane', groups: ['devs', 'ops'] });
  });

  it('bad usage exits 2', async () => {
    expect((await runCli(['cluster', '--concurrency', 'many'])).code).toBe(2);
  });
});

describe('agent errors reach the cluster command as codes, not text', () => {
  const target = (status: number, body: unknown) => ({ node: 'n1', source: 's', fetch: async () => ({ status, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) }) });

  it("the real agent's answer before its first scan is read as not-ready", async () => {
    const app = await buildApp({ agent: { report: undefined, ready: () => ({ ready: false, reason: 'x' }), live: () => ({ live: true, reason: '' }), status: {} }, metrics: new Metrics({ version: 't' } as never, { processMetrics: false }), version: 't' });
    try {
      const res = await app.inject('/v1/report');
      const r = await fetchReport(target(res.statusCode, res.body), 1000);
      expect(r).toMatchObject({ status: 'not-ready' });
    } finally {
      await app.close();
    }
  });

  it('the same words from something that is not the agent (no code) are a proxy failure, not not-ready', async () => {
    expect(await fetchReport(target(503, { error: 'no scan has finished yet' }), 1000)).toMatchObject({ status: 'unreachable' });
    expect(await fetchReport(target(503, '<html>no scan has finished yet</html>'), 1000)).toMatchObject({ status: 'unreachable' });
  });

  it('the code decides, whatever the text: a reworded no-report is still not-ready; forbidden says the agent refused', async () => {
    expect(await fetchReport(target(503, { code: 'no-report', error: 'still warming up' }), 1000)).toMatchObject({ status: 'not-ready' });
    expect(await fetchReport(target(403, { code: 'forbidden', error: 'alice may not get pods/proxy' }), 1000))
      .toMatchObject({ status: 'error', error: 'HTTP 403: the agent refused the request (forbidden: alice may not get pods/proxy)' });
    expect(await fetchReport(target(503, { code: 'no-such-code', error: 'x' }), 1000)).toMatchObject({ status: 'unreachable' });
  });

  it('a report of another schema version is refused with the version it expects', async () => {
    const r = await fetchReport(target(200, { ...nodeReport('n1', 'a'), schemaVersion: 2 }), 1000);
    expect(r).toMatchObject({ status: 'error', error: 'the answer is not a tagdrift report (schema version 1)' });
  });
});
