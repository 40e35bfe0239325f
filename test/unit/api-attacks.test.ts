/**
 * The agent's HTTP surfaces attacked from inside the cluster, over real sockets: a peer
 * that is not the pod's loopback (127.0.0.2 here: the authorizer treats only 127.0.0.1 and
 * ::1 as loopback) spelling paths the router decodes, absolute- and asterisk-form targets,
 * a connection flood, and a flood of random tokens against a slow TokenReview. Health
 * probes are answered throughout on their own listener.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inClusterApi, type KubeApi } from '../../src/adapters/kube/api.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { createApiAuthorizer, MAX_REVIEWS_IN_FLIGHT } from '../../src/server/api-auth.js';
import { buildApp, MAX_CONNECTIONS_PER_PEER } from '../../src/server/app.js';
import { createProbeServer } from '../../src/server/probe-server.js';
import { analyze } from '../../src/report/analyze.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';

const kube = new FakeKubeApi();
let dir: string;
let app: FastifyInstance;
let probes: http.Server;
let port: number;
let probePort: number;
const ATTACKER = '127.0.0.2';

const b = new SnapshotBuilder();
b.image('web-v1', ['registry.example/shop/web:1.0']);
const report = analyze(b.build());
const agent = { report, reportJson: undefined, status: {}, ready: () => ({ ready: true, reason: 'ok' }), live: () => ({ live: true, reason: 'ok' }) };

beforeAll(async () => {
  await kube.start();
  dir = mkdtempSync(join(tmpdir(), 'td-attack-'));
  writeFileSync(join(dir, 'token'), 'agent-sa-token');
  const api = inClusterApi({ host: '127.0.0.1', port: String(kube.port), dir, scheme: 'http' }) as KubeApi;
  app = await buildApp({ agent, metrics: new Metrics({ version: 't' }, { processMetrics: false }), version: 't', auth: createApiAuthorizer({ mode: 'kubernetes', api, namespace: 'tagdrift', podName: 'tagdrift-x1' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
  probes = createProbeServer(agent);
  await new Promise<void>((r) => probes.listen(0, '127.0.0.1', () => r()));
  probePort = (probes.address() as AddressInfo).port;
});

afterAll(async () => {
  probes?.close();
  await app?.close();
  await kube.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One raw request line from `from`; the status code of the answer (0 when the connection closed without one). */
function raw(target: string, from = ATTACKER, p = port): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: p, localAddress: from }, () => s.write(`GET ${target} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n`));
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (data += d));
    s.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), body: data.slice(data.indexOf('\r\n\r\n') + 4) }));
    s.on('error', () => undefined);
  });
}

function probe(path = '/healthz'): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: probePort, path, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

describe('the detailed API decides access on what the router matches, deny by default', () => {
  it('control: /v1/report from another peer without a token is 401; /healthz and /metrics stay open', async () => {
    expect((await raw('/v1/report')).status).toBe(401);
    expect((await raw('/healthz')).status).toBe(200);
    expect((await raw('/metrics')).status).toBe(200);
    expect((await raw('/v1/report', '127.0.0.1')).status).toBe(200);
  });

  it('no spelling of a private route reaches its content', async () => {
    const spellings = [
      '/%761/report', '/v%31/report', '/%76%31/findings', '/%76%31/images', '/%76%31/containers', '/%76%31/registries',
      'http://agent/v1/findings', 'http://agent/v1/report', '*', '/#', '/?#', '/v1/report#x', '/v1//report', '/./v1/report',
      '/v1/./report', '/x/../v1/report', '/%2e%2e/v1/report', '/v1%2freport', '/V1/report', '//v1/report', '/v1/report/',
      '/v1\\report', '/nothing-here',
    ];
    for (const target of spellings) {
      const r = await raw(target);
      expect([400, 401, 404], `${target} → ${r.status}`).toContain(r.status);
      if (r.status === 404) throw new Error(`${target}: a 404 to an unauthenticated peer says which routes exist; expected 400 or 401`);
      expect(r.body, target).not.toContain('web-v1');
      expect(r.body, target).not.toContain('"findings"');
    }
  });
});

describe('health probes never compete with readers', () => {
  it(`one peer cannot hold more than ${MAX_CONNECTIONS_PER_PEER} connections; 300 idle ones leave every probe answered`, async () => {
    const idle: net.Socket[] = [];
    let closedByServer = 0;
    for (let i = 0; i < 300; i++) {
      const s = net.connect({ host: '127.0.0.1', port, localAddress: ATTACKER });
      s.on('error', () => undefined);
      s.on('close', () => (closedByServer += 1));
      idle.push(s);
    }
    await new Promise((r) => setTimeout(r, 500));
    try {
      expect(closedByServer).toBeGreaterThanOrEqual(300 - MAX_CONNECTIONS_PER_PEER);
      const results = await Promise.all(Array.from({ length: 30 }, () => probe()));
      expect(results.filter((s) => s === 200)).toHaveLength(30);
      // Another reader still gets through on the API port.
      expect((await raw('/healthz', '127.0.0.3')).status).toBe(200);
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  it('300 random tokens against a slow TokenReview: reviews bounded, probes answered, the excess refused at once', async () => {
    kube.tokenReviewDelayMs = 4_000;
    kube.maxReviewsInFlight = 0;
    const before = kube.requests.filter((r) => r.includes('tokenreviews')).length;
    try {
      const flood = Array.from({ length: 300 }, (_, i) => new Promise<number>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/v1/report', localAddress: `127.0.1.${1 + (i % 200)}`, headers: { authorization: `Bearer ${randomUUID()}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
      }));
      await new Promise((r) => setTimeout(r, 1_000));
      const during = await Promise.all(Array.from({ length: 17 }, () => probe()));
      expect(during.filter((s) => s === 200)).toHaveLength(17);
      const statuses = await Promise.all(flood);
      // Refused every one: 401, 503 (too many reviews in flight), or the connection closed beyond the server's cap.
      expect(statuses.every((s) => s === 401 || s === 503 || s === 0), JSON.stringify(statuses)).toBe(true);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(kube.maxReviewsInFlight).toBeLessThanOrEqual(MAX_REVIEWS_IN_FLIGHT);
      // A review asks up to two audiences: at most two calls per admitted token.
      const reviews = kube.requests.filter((r) => r.includes('tokenreviews')).length - before;
      expect(reviews).toBeLessThanOrEqual(2 * MAX_REVIEWS_IN_FLIGHT * 3);
    } finally {
      kube.tokenReviewDelayMs = 0;
    }
  }, 60_000);

  it('the same token asked by many requests at once is reviewed once', async () => {
    kube.tokenReviewDelayMs = 500;
    const before = kube.requests.filter((r) => r.includes('tokenreviews')).length;
    try {
      const token = randomUUID();
      await Promise.all(Array.from({ length: 20 }, () => raw2('/v1/report', token)));
      expect(kube.requests.filter((r) => r.includes('tokenreviews')).length - before).toBeLessThanOrEqual(2);
    } finally {
      kube.tokenReviewDelayMs = 0;
    }
  });
});

function raw2(path: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, localAddress: ATTACKER, headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
}

describe('large answers under many readers stay bounded', () => {
  it('beyond the bound of streamed answers: 503 with Retry-After; gzip readers are all answered, with the same bytes', async () => {
    const big = new SnapshotBuilder();
    for (let i = 0; i < 3000; i++) big.image(`img-${i}`, [`registry.example/team/service-${i}:1.${i}`, `registry.example/team/service-${i}:latest`]);
    const bigReport = analyze(big.build());
    const a = await buildApp({ agent: { ...agent, report: bigReport }, metrics: new Metrics({ version: 't' }, { processMetrics: false }), version: 't', maxLargeStreams: 0 });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const p = (a.server.address() as AddressInfo).port;
    try {
      const r = await new Promise<{ status: number; retry: string | undefined }>((resolve) => {
        http.get({ host: '127.0.0.1', port: p, path: '/v1/report', agent: false }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, retry: res.headers['retry-after'] as string | undefined });
        });
      });
      expect(r).toEqual({ status: 503, retry: '1' });
      const bodies = await Promise.all(Array.from({ length: 100 }, () => new Promise<{ status: number; body: Buffer }>((resolve) => {
        http.get({ host: '127.0.0.1', port: p, path: '/v1/report', agent: false, headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        });
      })));
      expect(bodies.every((b) => b.status === 200)).toBe(true);
      expect(new Set(bodies.map((b) => b.body.toString('base64'))).size).toBe(1);
      expect(JSON.parse(gunzipSync(bodies[0]!.body).toString('utf8')).images).toHaveLength(3000);
    } finally {
      await a.close();
    }
  }, 60_000);
});
