/**
 * The shared resolver attacked from inside the cluster, over real sockets: callers that are
 * not agents, a caller naming a registry the resolver holds credentials for and an endpoint of
 * its own, addresses spelled to reach loopback, a registry redirecting to an internal service,
 * path tricks in repository and tag, a flooding caller, a wrong-scheme question, and a
 * backward wall-clock step. The registries are fake ones on an address of this machine that
 * is not loopback (the resolver refuses loopback), the tokens are reviewed by the fake
 * Kubernetes API (there is no API server on the test machines).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inClusterApi, type KubeApi } from '../../src/adapters/kube/api.js';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { parseDockerConfig } from '../../src/adapters/registry/auth.js';
import { forbiddenAddress, parseCidr } from '../../src/domain/addresses.js';
import { buildResolverApp } from '../../src/resolver/resolver.js';
import { createApiAuthorizer } from '../../src/server/api-auth.js';
import { RESOLVER_AUDIENCE } from '../../src/cli/resolver.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { fakeDigest } from '../fakes/fake-cri.js';
import { routableAddress } from '../helpers/routable.js';

const MT = 'application/vnd.oci.image.manifest.v1+json';
const manifest = (seed: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: fakeDigest(seed), size: 2 }, layers: [] }));
const net = routableAddress();
const kube = new FakeKubeApi();
const upstream = new FakeRegistry();
const attacker = new FakeRegistry();
let internal: http.Server;
let internalHits = 0;
const internalAuth: string[] = [];
let internalPort: number;
let app: FastifyInstance;
let open: FastifyInstance;
let url: string;
let openUrl: string;
let dir: string;
const SECRET = 'canary-resolver-pw-93d1';

async function resolverWith(auth: boolean): Promise<FastifyInstance> {
  dir ??= mkdtempSync(join(tmpdir(), 'td-resolver-attack-'));
  writeFileSync(join(dir, 'token'), 'resolver-sa-token');
  const api = inClusterApi({ host: '127.0.0.1', port: String(kube.port), dir, scheme: 'http' }) as KubeApi;
  const creds = parseDockerConfig(JSON.stringify({ auths: { [upstream.host]: { username: 'robot', password: SECRET } } }), 'config.json');
  const registry = new RegistryClient({ cacheTtlMs: 200, credentials: creds, credentialsByHostOnly: true, addressPolicy: (ip) => forbiddenAddress(ip), timeoutMs: 2_000 });
  const callers = new Set(['system:serviceaccount:tagdrift:tagdrift']);
  const a = await buildResolverApp({
    registry, budgetPerSecond: 40, replicas: 1, version: 't', callerRate: 50,
    allowedEndpoints: [upstream.url, `http://localhost:${upstream.url.split(':').pop()}`, `http://[::ffff:127.0.0.1]:${internalPort}`, `http://${net.address}:${internalPort}`],
    ...(auth ? {
      auth: createApiAuthorizer({
        mode: 'kubernetes', api, namespace: '', podName: '', audiences: [[RESOLVER_AUDIENCE]], allowLoopback: false,
        authorizeUser: (u) => (callers.has(u.username) ? { ok: true, who: u.username } : { ok: false, status: 403, reason: `${u.username} may not ask` }),
      }),
    } : {}),
  });
  await a.listen({ host: net.address, port: 0 });
  return a;
}

beforeAll(async () => {
  await kube.start();
  kube.tokens.set('agent-resolver-token', { username: 'system:serviceaccount:tagdrift:tagdrift', groups: [], audiences: [RESOLVER_AUDIENCE] });
  kube.tokens.set('agent-api-token', { username: 'system:serviceaccount:tagdrift:tagdrift', groups: [], audiences: ['https://kubernetes.default.svc'] });
  kube.tokens.set('tenant-token', { username: 'system:serviceaccount:shop:web', groups: [], audiences: [RESOLVER_AUDIENCE] });
  await upstream.start(undefined, net.address);
  upstream.requireBasic('robot', SECRET);
  await attacker.start(undefined, net.address);
  internal = http.createServer((req, res) => {
    internalHits += 1;
    if (req.headers.authorization) internalAuth.push(req.headers.authorization);
    res.writeHead(200, { 'docker-content-digest': fakeDigest('internal'), 'content-type': MT }).end();
  });
  await new Promise<void>((r) => internal.listen(0, '0.0.0.0', () => r()));
  internalPort = (internal.address() as AddressInfo).port;
  for (let i = 0; i < 10; i++) upstream.putManifest(`team/app${i}`, manifest(`app${i}`), MT, '1.0');
  app = await resolverWith(true);
  url = `http://${net.address}:${(app.server.address() as AddressInfo).port}`;
  open = await resolverWith(false);
  openUrl = `http://${net.address}:${(open.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await open?.close();
  await upstream.stop();
  await attacker.stop();
  internal?.close();
  await kube.stop();
  net.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function ask(base: string, body: object, token?: string, from?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request(`${base}/v1/resolve`, {
      method: 'POST', agent: false, ...(from ? { localAddress: from } : {}),
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', () => resolve({ status: 0, json: undefined }));
    req.end(data);
  });
}
const q = (endpoint: string, repository = 'team/app0', tag = '1.0', registry = upstream.host) => ({ endpoint, registry, repository, tag });

describe('only agents may ask', () => {
  it('no token: 401; a tenant\'s token: 403; the agent\'s API token (wrong audience): 401; the agent\'s resolver token: answered', async () => {
    expect((await ask(url, q(upstream.url))).status).toBe(401);
    expect((await ask(url, q(upstream.url), 'tenant-token')).status).toBe(403);
    expect((await ask(url, q(upstream.url), 'agent-api-token')).status).toBe(401);
    const ok = await ask(url, q(upstream.url), 'agent-resolver-token');
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ ok: true, via: 'resolver' });
  });
});

describe('the resolver holds no one\'s secrets it can be tricked into sending', () => {
  it('a caller naming the registry it has credentials for and an endpoint of its own: refused, the endpoint hears nothing', async () => {
    attacker.requests.length = 0;
    const r = await ask(url, q(attacker.url), 'agent-resolver-token');
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ code: 'endpoint-not-served' });
    expect(attacker.requests).toEqual([]);
  });

  it('an allow-listed endpoint of another host never receives the registry\'s credentials', async () => {
    internalHits = 0;
    const r = await ask(url, q(`http://${net.address}:${internalPort}`), 'agent-resolver-token');
    expect(r.status).toBe(200);
    expect(internalHits).toBeGreaterThan(0);
    expect(internalAuth).toEqual([]);
    // Control: the registry the credentials are written for does receive them.
    expect(upstream.requests.filter((x) => x.authorization?.startsWith('Basic')).length).toBeGreaterThan(0);
  });
});

describe('addresses are classified by what they are, not how they are written', () => {
  it('the classifier: mapped, compatible and short forms of loopback, metadata and denied ranges', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:0001', '::7f00:1', '0.0.0.0', '::', '169.254.169.254', '::ffff:169.254.169.254', 'fe80::1', 'fd00:ec2::254', '100.100.100.200']) {
      expect(forbiddenAddress(ip), ip).toBeDefined();
    }
    for (const ip of ['10.1.2.3', '192.168.1.10', '2001:db8::1', '::ffff:10.0.0.1', net.address]) expect(forbiddenAddress(ip), ip).toBeUndefined();
    expect(forbiddenAddress('10.96.0.10', [parseCidr('10.96.0.0/12')!])).toMatch(/denied range/);
    expect(forbiddenAddress('fd00:10:96::a', [parseCidr('fd00:10:96::/112')!])).toMatch(/denied range/);
  });

  it('allow-listed by mistake, a name resolving to loopback or a mapped loopback literal is still not contacted', async () => {
    internalHits = 0;
    for (const e of [`http://localhost:${upstream.url.split(':').pop()}`, `http://[::ffff:127.0.0.1]:${internalPort}`]) {
      const r = await ask(url, q(e), 'agent-resolver-token');
      expect(r.status, e).not.toBe(0);
      expect(r.json?.ok, e).not.toBe(true);
    }
    expect(internalHits).toBe(0);
  });

  it('a registry redirecting to 127.0.0.1 is not followed there', async () => {
    internalHits = 0;
    upstream.setFault('team/app1', '1.0', { kind: 'status', status: 307, headers: { location: `http://127.0.0.1:${internalPort}/admin` } });
    try {
      const r = await ask(url, q(upstream.url, 'team/app1'), 'agent-resolver-token');
      expect(r.json).toMatchObject({ ok: false, kind: 'invalid-response' });
      expect(internalHits).toBe(0);
    } finally {
      upstream.setFault('team/app1', '1.0', undefined);
    }
  });

  it('repository and tag follow the OCI grammar before any request: path and query tricks are refused', async () => {
    const before = upstream.requests.length;
    for (const [repo, tag] of [['a/../../../internal/admin', '1'], ['team/app0', '../../x'], ['team/app0', '1?debug=true&x='], ['team/%2e%2e', '1'], ['team/app0', '%2e%2e'], ['Team/App', '1'], ['team/app0', 'a'.repeat(129)]]) {
      const r = await ask(url, q(upstream.url, repo, tag), 'agent-resolver-token');
      expect(r.status, `${repo}:${tag}`).toBe(400);
    }
    expect(upstream.requests.length).toBe(before);
  });
});

describe('one caller cannot degrade the resolver for everyone', () => {
  it('a flooding caller is held to its quota and share; a well-behaved one is still answered', async () => {
    const flood = await Promise.all(Array.from({ length: 800 }, (_, i) => ask(openUrl, q(upstream.url, `team/app${2 + (i % 8)}`, `f${i}`), undefined, '127.0.0.2')));
    expect(flood.filter((r) => r.status === 429).length).toBeGreaterThan(200);
    const mine = await Promise.all([0, 1, 2, 3].map((i) => ask(openUrl, q(upstream.url, `team/app${i}`), undefined, '127.0.0.3')));
    for (const r of mine) expect(r.json, JSON.stringify(r.json)).toMatchObject({ ok: true });
  });

  it('a question with the wrong scheme puts nothing in backoff (and is not asked: not on the list)', async () => {
    const wrong = await ask(openUrl, q(upstream.url.replace('http:', 'https:')), undefined, '127.0.0.4');
    expect(wrong.status).toBe(403);
    const right = await ask(openUrl, q(upstream.url, 'team/app5'), undefined, '127.0.0.4');
    expect(right.json).toMatchObject({ ok: true });
  });

  it('6,000 distinct hosts leave /metrics\' host labels bounded', async () => {
    for (let batch = 0; batch < 12; batch++) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => {
        const i = batch * 500 + j;
        return ask(openUrl, q(`https://h${i}.example`), undefined, `127.0.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`);
      }));
    }
    const metrics = await (await fetch(`${openUrl}/metrics`)).text();
    const hosts = new Set([...metrics.matchAll(/tagdrift_registry_requests_total\{host="([^"]*)"/g)].map((m) => m[1]));
    expect(hosts.size).toBeLessThanOrEqual(64);
  }, 60_000);
});

describe('time', () => {
  it('a backward wall-clock step of an hour freezes neither the budget nor the cache', async () => {
    const first = await ask(openUrl, q(upstream.url, 'team/app9'), undefined, '127.0.0.5');
    expect(first.json).toMatchObject({ ok: true, digest: expect.stringMatching(/^sha256:/) });
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() - 3_600_000);
      const moved = upstream.putManifest('team/app9', manifest('app9-v2'), MT, '1.0');
      await new Promise((r) => setTimeout(r, 400));
      const again = await ask(openUrl, q(upstream.url, 'team/app9'), undefined, '127.0.0.5');
      expect(again.json).toMatchObject({ ok: true, digest: moved });
    } finally {
      vi.useRealTimers();
    }
  });
});
