/**
 * Who may read /v1/*: the pod's loopback (kubectl port-forward), or a bearer token the
 * Kubernetes API authenticates (TokenReview) and authorises for get pods/proxy on this
 * agent's pod (SubjectAccessReview); /metrics and health stay open. Checked on the fastify
 * app with the request's source address, against the fake Kubernetes API, and end to end:
 * `tagdrift cluster` through the API server's pod proxy to a running agent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inClusterApi, type KubeApi } from '../../src/adapters/kube/api.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createApiAuthorizer } from '../../src/server/api-auth.js';
import { buildApp } from '../../src/server/app.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { FakeCri } from '../fakes/fake-cri.js';
import { runCli, startAgent, type RunningAgent } from '../helpers/cli.js';

const kube = new FakeKubeApi();
let dir: string;
let app: FastifyInstance;
let api: KubeApi;
const REMOTE = '10.244.1.7';
const noScan = { report: undefined, reportJson: undefined, status: {}, ready: () => ({ ready: false, reason: 'x' }), live: () => ({ live: true, reason: 'ok' }) };

beforeAll(async () => {
  await kube.start();
  dir = mkdtempSync(join(tmpdir(), 'td-auth-'));
  writeFileSync(join(dir, 'token'), 'agent-sa-token');
  const a = inClusterApi({ host: '127.0.0.1', port: String(kube.port), dir, scheme: 'http' });
  if (!('postJson' in a)) throw new Error('no api');
  api = a;
  kube.tokens.set('prometheus-token', { username: 'system:serviceaccount:monitoring:prometheus', groups: [], audiences: ['https://kubernetes.default.svc'] });
  kube.tokens.set('nobody-token', { username: 'system:serviceaccount:shop:web', groups: [], audiences: ['https://kubernetes.default.svc'] });
  kube.proxyAllowed.add('system:serviceaccount:monitoring:prometheus tagdrift/tagdrift-x1');
  app = await buildApp({ agent: noScan, metrics: new Metrics({ version: 't' }, { processMetrics: false }), version: 't', auth: createApiAuthorizer({ mode: 'kubernetes', api, namespace: 'tagdrift', podName: 'tagdrift-x1' }) });
});

afterAll(async () => {
  await app.close();
  await kube.stop();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, remoteAddress: string, headers: Record<string, string> = {}) => app.inject({ url, remoteAddress, headers });
const reviews = () => kube.requests.filter((r) => r.includes('tokenreviews')).length;

describe('the detailed API', () => {
  it('answers the pod loopback (kubectl port-forward) without a token', async () => {
    expect((await get('/v1/report', '127.0.0.1')).json()).toEqual({ code: 'no-report', error: 'no scan has finished yet' });
    expect((await get('/v1/report', '::1')).statusCode).toBe(503);
  });

  it('asks any other source for a token: 401 with a Bearer challenge', async () => {
    const r = await get('/v1/report', REMOTE);
    expect(r.statusCode).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="tagdrift"');
    expect((await get('/v1/findings', '127.0.0.2')).statusCode).toBe(401);
    expect((await get('/v1/report', REMOTE, { authorization: 'Bearer forged' })).statusCode).toBe(401);
  });

  it('a valid identity without get pods/proxy on this pod: 403', async () => {
    const r = await get('/v1/report', REMOTE, { authorization: 'Bearer nobody-token' });
    expect(r.statusCode).toBe(403);
    expect(r.json().error).toContain('system:serviceaccount:shop:web may not get pods/proxy on tagdrift/tagdrift-x1');
  });

  it('an authorised identity passes (Authorization or X-Tagdrift-Authorization); decisions are cached', async () => {
    expect((await get('/v1/report', REMOTE, { authorization: 'Bearer prometheus-token' })).statusCode).toBe(503);
    const before = reviews();
    expect((await get('/v1/images', REMOTE, { 'x-tagdrift-authorization': 'Bearer prometheus-token' })).statusCode).toBe(503);
    expect(reviews()).toBe(before);
  });

  it('when the API cannot be asked, the request is refused (503), never let through', async () => {
    kube.tokens.set('fresh-token', { username: 'system:serviceaccount:monitoring:prometheus', groups: [], audiences: ['https://kubernetes.default.svc'] });
    kube.failWith = 500;
    try {
      const r = await get('/v1/report', REMOTE, { authorization: 'Bearer fresh-token' });
      expect(r.statusCode).toBe(503);
      expect(r.json().error).toMatch(/could not be asked/);
    } finally {
      kube.failWith = undefined;
    }
  });

  it('the server bounds slow clients and connections', () => {
    expect(app.server.requestTimeout).toBe(10_000);
    expect(app.server.headersTimeout).toBe(5_000);
    expect(app.server.maxConnections).toBe(256);
  });

  it('/metrics, /healthz and /readyz stay open to any source; every answer says nosniff', async () => {
    for (const url of ['/metrics', '/healthz', '/readyz']) {
      const r = await get(url, REMOTE);
      expect(r.statusCode, url).not.toBe(401);
      expect(r.headers['x-content-type-options'], url).toBe('nosniff');
    }
  });
});

describe('tagdrift cluster through the pod proxy to an agent that checks tokens', () => {
  let cri: FakeCri;
  let agent: RunningAgent;
  let kubeconfig: string;
  const port = 19000 + Math.floor(Math.random() * 1000);

  beforeAll(async () => {
    cri = await new FakeCri().start();
    kubeconfig = join(dir, 'kubeconfig');
    kube.writeKubeconfig(kubeconfig);
    agent = await startAgent(['--runtime-endpoint', cri.endpoint, '--kubeconfig', kubeconfig, '--node-name', 'n1', '--registry-checks', 'off'], port, { POD_NAME: 'tagdrift-x1', POD_NAMESPACE: 'tagdrift' });
    await import('../../testbed/proc.js').then(({ waitFor }) => waitFor('the agent to be ready', async () => (await agent.get('/readyz')).status === 200, 15_000));
    const labels = { 'app.kubernetes.io/name': 'tagdrift', 'app.kubernetes.io/component': 'agent' };
    kube.addAgentPod('tagdrift', 'tagdrift-x1', 'n1', labels, 9420, agent.url);
    // The API server reaches the pod from its own address, not the pod's loopback.
    kube.proxySource = '127.0.0.3';
  }, 30_000);

  afterAll(async () => {
    kube.proxySource = undefined;
    await agent?.stop();
    await cri?.stop();
  });

  it('refused while tagdrift-reader may not get pods/proxy, read once it may', async () => {
    const denied = await runCli(['cluster', '--kubeconfig', kubeconfig, '-o', 'json'], {}, 30_000);
    const d = JSON.parse(denied.stdout) as { nodes: { node: string; status: string; error?: string }[] };
    expect(d.nodes.find((n) => n.node === 'n1')).toMatchObject({ status: 'error', error: expect.stringMatching(/HTTP 403: the agent refused the request .*tagdrift-reader may not get pods\/proxy/) });
    kube.proxyAllowed.add('system:serviceaccount:tagdrift:tagdrift-reader *');
    const ok = await runCli(['cluster', '--kubeconfig', kubeconfig, '-o', 'json'], {}, 30_000);
    const o = JSON.parse(ok.stdout) as { nodes: { node: string; status: string }[] };
    expect(o.nodes.find((n) => n.node === 'n1')?.status).toBe('ok');
    expect(kube.requests.some((r) => r === 'POST /api/v1/namespaces/tagdrift/serviceaccounts/tagdrift-reader/token')).toBe(true);
  }, 60_000);
});
