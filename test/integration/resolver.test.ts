/**
 * Two real test-bed nodes sharing one upstream registry (on a routable address of this
 * machine) through the shared resolver (`tagdrift resolver`, a real process): each question
 * reaches the registry once for both nodes, both nodes report the same truth (marked as the
 * resolver's), and node A's node-local mirror (on its loopback, resolving tags for it) is
 * still asked by node A itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { freePort, waitFor } from '../../testbed/proc.js';
import { startRegistry, type RunningRegistry } from '../../testbed/registry.js';
import { CLI, startAgent, type RunningAgent } from '../helpers/cli.js';
import { routableAddress } from '../helpers/routable.js';

const net = routableAddress();
let a: TestBed;
let b: TestBed;
let localMirror: RunningRegistry;
let resolver: ChildProcess;
let resolverUrl: string;
let tokenFile: string;
const AGENT_TOKEN = 'agent-projected-token-for-the-resolver';
const agents: RunningAgent[] = [];

const metric = (text: string, name: string, labels: string) =>
  [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\d+)$`, 'gm'))].filter((m) => labels.split(',').every((l) => m[1]!.includes(l))).reduce((n, m) => n + Number(m[2]), 0);

beforeAll(async () => {
  a = await TestBed.start({ nodeName: 'node-a', registryAddress: net.address });
  b = await TestBed.start({ nodeName: 'node-b', shared: { upstream: a.upstream, sandboxImage: a.sandboxImage } });
  const owner = { kind: 'ReplicaSet', name: 'web-5d8f9c7b6', templateHash: '5d8f9c7b6' };
  const web = await a.publish('shop/web', '1.0', { version: '1.0.0' });
  await a.kubelet.runPod({ namespace: 'shop', name: 'web-5d8f9c7b6-aaaaa', owner, containers: [{ name: 'web', image: web.ref, imagePullPolicy: 'IfNotPresent' }] });
  await b.kubelet.runPod({ namespace: 'shop', name: 'web-5d8f9c7b6-bbbbb', owner, containers: [{ name: 'web', image: web.ref, imagePullPolicy: 'IfNotPresent' }] });
  // Node A resolves tags through a mirror on its own loopback (as spegel does).
  localMirror = await startRegistry(a.dir, 'node-local-mirror');
  a.containerd.writeRoutes([{ host: a.upstream.host, serverUrl: a.upstream.url, mirrors: [{ url: localMirror.url, capabilities: ['pull', 'resolve'] }] }]);
  const port = await freePort();
  resolverUrl = `http://127.0.0.1:${port}`;
  // The resolver admits the agents' service account, proven by a token whose audience is the
  // resolver (a projected token in the cluster; here a file the bed's fake API knows), reviewed
  // through the bed's Kubernetes API (there is no API server on the test machines).
  a.kube.tokens.set(AGENT_TOKEN, { username: 'system:serviceaccount:tagdrift:tagdrift', groups: ['system:serviceaccounts'], audiences: ['tagdrift-resolver'] });
  tokenFile = join(a.dir, 'resolver-token');
  writeFileSync(tokenFile, `${AGENT_TOKEN}\n`);
  resolver = spawn(process.execPath, [
    CLI, 'resolver', '--listen', `127.0.0.1:${port}`, '--budget', '50', '--replicas', '1',
    '--kubeconfig', a.kubeconfig, '--allow-endpoints', a.upstream.url,
  ], { stdio: 'ignore' });
  await waitFor('resolver ready', async () => (await fetch(`${resolverUrl}/readyz`)).status === 200, 15_000);
  for (const bed of [a, b]) agents.push(await startAgent([...bed.scanArgs(), '--interval', '5m', '--resolver-url', resolverUrl, '--resolver-token-file', tokenFile], await freePort()));
  for (const ag of agents) await waitFor('agent ready', async () => (await ag.get('/readyz')).status === 200, 30_000);
}, 240_000);

afterAll(async () => {
  for (const ag of agents) await ag.stop();
  resolver?.kill('SIGTERM');
  await localMirror?.stop();
  await b?.stop();
  await a?.stop();
  net.cleanup();
}, 120_000);

describe('two nodes through the shared resolver', () => {
  it('anyone without the agents\' resolver token is refused; the agents are answered', async () => {
    const body = JSON.stringify({ endpoint: a.upstream.url, registry: a.upstream.host, repository: 'shop/web', tag: '1.0' });
    const post = (headers: Record<string, string>) => fetch(`${resolverUrl}/v1/resolve`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer forged' })).status).toBe(401);
    expect((await post({ authorization: `Bearer ${AGENT_TOKEN}` })).status).toBe(200);
  });

  it('the upstream question reaches the registry once; both nodes report the same truth, from the resolver', async () => {
    const reports = await Promise.all(agents.map(async (ag) => JSON.parse((await ag.get('/v1/report')).body) as Report));
    const upstreamAnswers = reports.map((r) => r.registryTruth!.find((t) => t.role === 'upstream' && t.repository === 'shop/web')!);
    for (const ans of upstreamAnswers) expect(ans.result).toMatchObject({ ok: true, via: 'resolver' });
    expect(upstreamAnswers[0]!.result).toEqual(upstreamAnswers[1]!.result);
    const resolverMetrics = await (await fetch(`${resolverUrl}/metrics`)).text();
    const manifestHeads = metric(resolverMetrics, 'tagdrift_registry_requests_total', `host="${a.upstream.host}"`);
    expect(manifestHeads, resolverMetrics.split('\n').filter((l) => l.startsWith('tagdrift_')).join('\n')).toBeGreaterThanOrEqual(1);
    // Neither agent asked the shared upstream itself.
    for (const ag of agents) expect(metric((await ag.get('/metrics')).body, 'tagdrift_registry_requests_total', `host="${a.upstream.host}"`)).toBe(0);
    // One registry request per distinct question both nodes asked (shop/web:1.0 and the
    // cached sandbox image's tag), not one per node.
    const questions = (r: Report) => r.registryTruth!.filter((t) => t.endpoint === a.upstream.url).map((t) => `${t.repository}:${t.tag}`);
    const distinct = new Set(reports.flatMap(questions));
    expect(questions(reports[0]!).length + questions(reports[1]!).length).toBeGreaterThan(distinct.size);
    expect(manifestHeads).toBe(distinct.size);
  });

  it('the cluster command says which nodes got their answers from the resolver', async () => {
    const { runCli } = await import('../helpers/cli.js');
    const r = await runCli(['cluster', '--endpoints', agents.map((g) => g.url).join(','), '-o', 'json']);
    const nodes = (JSON.parse(r.stdout) as { nodes: { node: string; registryAnswers?: { total: number; viaResolver: number } }[] }).nodes;
    for (const n of nodes) expect(n.registryAnswers!.viaResolver, n.node).toBeGreaterThan(0);
    // Node A's own mirror answered it directly, so not all of its answers are the resolver's.
    const nodeA = nodes.find((n) => n.node === 'node-a')!;
    expect(nodeA.registryAnswers!.viaResolver).toBeLessThan(nodeA.registryAnswers!.total);
    const table = await runCli(['cluster', '--endpoints', agents.map((g) => g.url).join(','), '-o', 'wide']);
    expect(table.stdout).toContain('registry answers from the shared resolver on 2 of 2 node(s)');
  });

  it("node A's node-local mirror is asked by node A, never through the resolver", async () => {
    const aMetrics = (await agents[0]!.get('/metrics')).body;
    expect(metric(aMetrics, 'tagdrift_registry_requests_total', `host="${localMirror.host}"`)).toBeGreaterThan(0);
    const report = JSON.parse((await agents[0]!.get('/v1/report')).body) as Report;
    const viaMirror = report.registryTruth!.find((t) => t.endpoint === localMirror.url)!;
    expect(viaMirror).toBeDefined();
    expect((viaMirror.result as { via?: string }).via).toBeUndefined();
  });
});
