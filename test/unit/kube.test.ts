import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapPod, resolveOwner, stripRuntimeScheme } from '../../src/adapters/kube/map.js';
import { kubePodSource } from '../../src/adapters/kube/pods.js';
import { loadKubeApi } from '../../src/adapters/kube/api.js';
import { SourceFailure, type PodSource } from '../../src/domain/ports.js';

/** The pod source as the CLI builds it (cli/sources.ts): the API access, then the source over it. */
async function createKubePodSource(o: { kubeconfig: string | undefined; timeoutMs: number }): Promise<PodSource | SourceFailure> {
  const api = await loadKubeApi(o.kubeconfig);
  return api instanceof SourceFailure ? api : kubePodSource(api, o);
}
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { freePort } from '../../testbed/proc.js';

describe('pod mapping', () => {
  it('resolves a ReplicaSet owner to its Deployment through pod-template-hash', () => {
    expect(
      resolveOwner({ labels: { 'pod-template-hash': '7d9c6b5f4' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d9c6b5f4', controller: true }] }),
    ).toEqual({ kind: 'Deployment', name: 'web' });
    expect(resolveOwner({ ownerReferences: [{ kind: 'ReplicaSet', name: 'bare-rs', controller: true }] })).toEqual({ kind: 'ReplicaSet', name: 'bare-rs' });
    expect(resolveOwner({ ownerReferences: [{ kind: 'Node', name: 'n1' }, { kind: 'DaemonSet', name: 'ds', controller: true }] })).toEqual({
      kind: 'DaemonSet',
      name: 'ds',
    });
    expect(resolveOwner({})).toBeUndefined();
  });

  it('joins spec and status by container name, for regular, init and ephemeral containers', () => {
    const pod = mapPod({
      metadata: { name: 'p', namespace: 'ns', uid: 'u' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'app', image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent' }],
        initContainers: [{ name: 'init', image: 'busybox', imagePullPolicy: 'Always' }],
        ephemeralContainers: [{ name: 'debug', image: 'alpine' }],
      },
      status: {
        containerStatuses: [{ name: 'app', containerID: 'containerd://abc', imageID: 'docker.io/library/nginx@sha256:1' }],
        initContainerStatuses: [{ name: 'init', containerID: 'containerd://def' }],
      },
    });
    expect(pod.containers).toEqual([
      { name: 'app', image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent', kind: 'container', containerId: 'abc', statusImageId: 'docker.io/library/nginx@sha256:1' },
      { name: 'init', image: 'busybox', imagePullPolicy: 'Always', kind: 'init', containerId: 'def', statusImageId: undefined },
      { name: 'debug', image: 'alpine', imagePullPolicy: undefined, kind: 'ephemeral', containerId: undefined, statusImageId: undefined },
    ]);
    expect(stripRuntimeScheme('cri-o://x')).toBe('x');
  });
});

describe('the Kubernetes pod source', () => {
  const api = new FakeKubeApi();
  let dir: string;
  let source: PodSource;
  beforeAll(async () => {
    await api.start();
    dir = mkdtempSync(join(tmpdir(), 'td-kube-'));
    api.writeKubeconfig(join(dir, 'kubeconfig'), 'canary-token-Zx9');
    const s = await createKubePodSource({ kubeconfig: join(dir, 'kubeconfig'), timeoutMs: 1000 });
    if (s instanceof SourceFailure) throw s;
    source = s;
    api.upsertPod({
      metadata: { name: 'a', namespace: 'ns', uid: 'ua' },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx', imagePullPolicy: 'Always' }] },
      status: { containerStatuses: [{ name: 'c', containerID: 'containerd://1' }] },
    });
    api.upsertPod({ metadata: { name: 'b', namespace: 'ns', uid: 'ub' }, spec: { nodeName: 'n2', containers: [] }, status: {} });
  });
  afterAll(async () => {
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists only the pods of the node, with a field selector', async () => {
    const pods = await source.listNodePods('n1');
    expect(pods.map((p) => p.name)).toEqual(['a']);
    expect(pods[0]!.containers[0]!.containerId).toBe('1');
    expect(api.requests.at(-1)).toBe('GET /api/v1/pods?fieldSelector=spec.nodeName%3Dn1&limit=100');
  });

  it('a tenant\'s legal but large pods (45 × 200 KiB of annotations, a 9 MB first page) cost no pod\'s intent', async () => {
    const big = 'x'.repeat(200 * 1024);
    for (let i = 0; i < 45; i++) {
      api.upsertPod({
        metadata: { name: `bloat-${i}`, namespace: 'tenant', uid: `ubl${i}`, annotations: { 'tool.example/state': big } },
        spec: { nodeName: 'n3', containers: [{ name: 'c', image: `tenant/app:${i}`, imagePullPolicy: 'IfNotPresent' }] },
        status: { containerStatuses: [{ name: 'c', containerID: `containerd://bl${i}` }] },
      });
    }
    api.upsertPod({
      metadata: { name: 'victim', namespace: 'shop', uid: 'uv' },
      spec: { nodeName: 'n3', containers: [{ name: 'web', image: 'registry.example/shop/web:1.0', imagePullPolicy: 'IfNotPresent' }] },
      status: { containerStatuses: [{ name: 'web', containerID: 'containerd://victim' }] },
    });
    const s = (await createKubePodSource({ kubeconfig: join(dir, 'kubeconfig'), timeoutMs: 10_000 })) as PodSource;
    const pods = await s.listNodePods('n3');
    expect(pods).toHaveLength(46);
    expect(pods.filter((p) => p.unread)).toEqual([]);
    expect(pods.find((p) => p.name === 'victim')?.containers[0]).toMatchObject({ image: 'registry.example/shop/web:1.0', containerId: 'victim' });
  });

  it('a single pod over the cap is named and skipped; the pods after it are read', async () => {
    api.upsertPod({
      metadata: { name: 'aaa-huge', namespace: 'tenant', uid: 'uh', annotations: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'y'.repeat(256 * 1024)])) },
      spec: { nodeName: 'n4', containers: [{ name: 'c', image: 'tenant/huge:1', imagePullPolicy: 'IfNotPresent' }] },
      status: {},
    });
    api.upsertPod({
      metadata: { name: 'zzz-after', namespace: 'shop', uid: 'uz' },
      spec: { nodeName: 'n4', containers: [{ name: 'web', image: 'registry.example/shop/web:1.0', imagePullPolicy: 'IfNotPresent' }] },
      status: { containerStatuses: [{ name: 'web', containerID: 'containerd://after' }] },
    });
    const s = (await createKubePodSource({ kubeconfig: join(dir, 'kubeconfig'), timeoutMs: 10_000 })) as PodSource;
    const pods = await s.listNodePods('n4');
    expect(pods.map((p) => [p.name, p.unread !== undefined])).toEqual([['aaa-huge', true], ['zzz-after', false]]);
    const { analyze } = await import('../../src/report/analyze.js');
    const { SnapshotBuilder } = await import('../fakes/snapshot-builder.js');
    const snap = { ...new SnapshotBuilder().build(), pods: { ok: true as const, value: pods, durationMs: 1 } };
    const f = analyze(snap).findings.find((x) => x.code === 'pod-unread');
    expect(f).toMatchObject({ severity: 'warning', evidence: { pod: 'aaa-huge' } });
  });

  it.each([
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [500, 'error'],
  ])('HTTP %i is %s, without echoing the token', async (status, kind) => {
    api.failWith = status;
    try {
      const e = await source.listNodePods('n1').then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(SourceFailure);
      expect((e as SourceFailure).kind).toBe(kind);
      expect((e as Error).message).not.toContain('canary-token-Zx9');
    } finally {
      api.failWith = undefined;
    }
  });

  it('no kubeconfig and no in-cluster environment is not-configured', async () => {
    const saved = process.env['KUBERNETES_SERVICE_HOST'];
    delete process.env['KUBERNETES_SERVICE_HOST'];
    try {
      const s = await createKubePodSource({ kubeconfig: undefined, timeoutMs: 1000 });
      expect(s).toBeInstanceOf(SourceFailure);
      expect((s as SourceFailure).kind).toBe('not-configured');
    } finally {
      if (saved !== undefined) process.env['KUBERNETES_SERVICE_HOST'] = saved;
    }
  });

  it('an unreadable kubeconfig is not-configured with the path', async () => {
    const s = await createKubePodSource({ kubeconfig: join(dir, 'missing'), timeoutMs: 1000 });
    expect((s as SourceFailure).kind).toBe('not-configured');
    expect((s as SourceFailure).message).toContain(join(dir, 'missing'));
  });

  it('a closed port is unreachable', async () => {
    const port = await freePort();
    const path = join(dir, 'closed');
    writeFileSync(path, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n`);
    const s = (await createKubePodSource({ kubeconfig: path, timeoutMs: 1000 })) as PodSource;
    const e = await s.listNodePods('n1').then(() => undefined, (err: unknown) => err);
    expect((e as SourceFailure).kind).toBe('unreachable');
  });

  it('an API server that never answers is a timeout at the deadline', async () => {
    const sockets: import('node:net').Socket[] = [];
    const silent: Server = createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const path = join(dir, 'silent');
    writeFileSync(path, `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n`);
    try {
      const s = (await createKubePodSource({ kubeconfig: path, timeoutMs: 300 })) as PodSource;
      const started = Date.now();
      const e = await s.listNodePods('n1').then(() => undefined, (err: unknown) => err);
      expect((e as SourceFailure).kind).toBe('timeout');
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });
});

describe('in-cluster access without the client library', () => {
  it('sends the service account token (re-read per request) and lists the node pods', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const http = (await import('node:http')).default;
    const { inClusterApi } = await import('../../src/adapters/kube/api.js');
    const dir = mkdtempSync(join(tmpdir(), 'tagdrift-sa-'));
    writeFileSync(join(dir, 'token'), 'token-one\n');
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.headers.authorization} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = String((server.address() as { port: number }).port);
      const api = inClusterApi({ host: '127.0.0.1', port, dir, scheme: 'http' });
      if (!('getJson' in api)) throw new Error(api.message);
      await api.getJson('/api/v1/pods', { fieldSelector: 'spec.nodeName=n1' }, { timeoutMs: 2000, maxBytes: 1e6, what: 'list pods' });
      writeFileSync(join(dir, 'token'), 'token-two\n'); // a rotated bound token
      await api.getJson('/api/v1/pods', {}, { timeoutMs: 2000, maxBytes: 1e6, what: 'list pods' });
      expect(seen).toEqual(['Bearer token-one /api/v1/pods?fieldSelector=spec.nodeName%3Dn1', 'Bearer token-two /api/v1/pods']);
      expect(inClusterApi({ host: '10.0.0.1', port: '443', dir: join(dir, 'missing') })).toMatchObject({ kind: 'not-configured' });
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
