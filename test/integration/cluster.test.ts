/**
 * Two real test-bed nodes on one registry: the tag is re-pushed between their pulls,
 * so one runs the old digest and the other the new. A real agent runs for each node;
 * `tagdrift cluster --endpoints` finds the drift and names both nodes and digests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterReport } from '../../src/domain/cluster-report.js';
import { TestBed } from '../../testbed/bed.js';
import { freePort, waitFor } from '../../testbed/proc.js';
import { runCli, startAgent, type RunningAgent } from '../helpers/cli.js';

let a: TestBed;
let b: TestBed;
const agents: RunningAgent[] = [];
let v1: string;
let v2: string;

beforeAll(async () => {
  a = await TestBed.start({ nodeName: 'node-a' });
  b = await TestBed.start({ nodeName: 'node-b', shared: { upstream: a.upstream, sandboxImage: a.sandboxImage } });
  const owner = { kind: 'ReplicaSet', name: 'web-5d8f9c7b6', templateHash: '5d8f9c7b6' };
  const first = await a.publish('shop/web', '1.0', { version: '1.0.0' });
  await a.kubelet.runPod({ namespace: 'shop', name: 'web-5d8f9c7b6-aaaaa', owner, containers: [{ name: 'web', image: first.ref, imagePullPolicy: 'IfNotPresent' }] });
  const second = await a.publish('shop/web', '1.0', { version: '1.0.1' });
  await b.kubelet.runPod({ namespace: 'shop', name: 'web-5d8f9c7b6-bbbbb', owner, containers: [{ name: 'web', image: second.ref, imagePullPolicy: 'IfNotPresent' }] });
  v1 = first.manifestDigest;
  v2 = second.manifestDigest;
  for (const bed of [a, b]) agents.push(await startAgent([...bed.scanArgs(), '--interval', '5m'], await freePort()));
  for (const ag of agents) await waitFor('agent ready', async () => (await ag.get('/readyz')).status === 200, 20_000);
}, 180_000);

afterAll(async () => {
  for (const ag of agents) await ag.stop();
  await b?.stop();
  await a?.stop();
});

describe('cluster view over two real nodes', () => {
  it('digest-drift names both nodes and both digests; the stale node also has running-stale', async () => {
    const res = await runCli(['cluster', '--endpoints', agents.map((x) => x.url).join(','), '-o', 'json']);
    expect(res.code, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout) as ClusterReport;
    expect(r.nodes.map((n) => [n.node, n.status])).toEqual([['node-a', 'ok'], ['node-b', 'ok']]);
    const group = r.groups.find((g) => g.workload === 'shop/Deployment/web');
    const drift = group?.findings.find((f) => f.code === 'digest-drift');
    expect(drift, JSON.stringify(r.groups.map((g) => [g.workload, g.findings.map((f) => f.code)]))).toBeDefined();
    expect(drift!.image).toBe(`${a.upstream.host}/shop/web:1.0`);
    expect(drift!.evidence['digests']).toMatchObject({ [v1]: { nodes: ['node-a'], containers: 1, platform: expect.stringMatching(/^linux\//) }, [v2]: { nodes: ['node-b'], containers: 1 } });
    expect(Object.keys(drift!.evidence['digests'] as object)).toHaveLength(2);
    const stale = group!.findings.find((f) => f.code === 'running-stale');
    expect(stale?.nodes).toEqual(['node-a']);
  });

  it('one agent stopped: listed as unreachable, the other still merged, exit 0', async () => {
    await agents[1]!.stop();
    const res = await runCli(['cluster', '--endpoints', agents.map((x) => x.url).join(','), '-o', 'json', '--node-timeout', '2s']);
    expect(res.code).toBe(0);
    const r = JSON.parse(res.stdout) as ClusterReport;
    expect(r.nodes.map((n) => n.status).sort()).toEqual(['ok', 'unreachable']);
    expect(r.summary.nodesOk).toBe(1);
  });
});
