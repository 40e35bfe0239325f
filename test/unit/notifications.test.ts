/**
 * Registry push notifications at the shared resolver: the two formats as their senders write
 * them, the secret deciding which endpoint a sender speaks for (checked before the body is
 * read), bounded bodies, validated events; a push replacing the cached answer without a
 * registry request, the tag's history, and the change feed agents long-poll.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { buildResolverApp } from '../../src/resolver/resolver.js';
import { parseNotification, senderOf, DISTRIBUTION_MEDIA_TYPE } from '../../src/resolver/notifications.js';
import { ResolverChangeWatcher, type PushedTag } from '../../src/adapters/registry/resolver-changes.js';
import { createLogger } from '../../src/log.js';
import { fakeDigest } from '../fakes/fake-cri.js';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { routableAddress } from '../helpers/routable.js';

const MT = 'application/vnd.oci.image.manifest.v1+json';
const manifest = (seed: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: fakeDigest(seed), size: 2 }, layers: [] }));
const SECRET_A = 'a-secret-of-registry-a-0123456789';
const SECRET_B = 'b-secret-of-registry-b-0123456789';

/** An envelope as distribution's notification endpoint sends it (docs/notifications.md), one event of each kind. */
function envelope(repository: string, tag: string, digest: string) {
  const ev = (action: string, target: Record<string, unknown>) => ({
    id: 'asdf-asdf-asdf-asdf-0', timestamp: '2026-12-06T03:00:00.000Z', action, target,
    request: { id: 'r1', addr: '10.0.0.5:42', host: 'registry.example', method: 'PUT', useragent: 'containerd/2.1' },
    actor: { name: 'ci' }, source: { addr: 'registry-0:5000', instanceID: 'i-1' },
  });
  return {
    events: [
      ev('push', { mediaType: MT, size: 708, digest, length: 708, repository, url: `http://registry.example/v2/${repository}/manifests/${digest}`, tag }),
      ev('push', { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: fakeDigest('layer'), repository }),
      ev('pull', { mediaType: MT, digest, repository, tag }),
      ev('push', { mediaType: MT, digest: fakeDigest('by-digest'), repository }),
    ],
  };
}

/** A webhook as Harbor 2.x sends it for PUSH_ARTIFACT. */
function harbor(repoFullName: string, tag: string, digest: string, type = 'PUSH_ARTIFACT') {
  return {
    type, occur_at: 1765000000, operator: 'ci',
    event_data: {
      resources: [{ digest, tag, resource_url: `harbor.example/${repoFullName}:${tag}` }],
      repository: { date_created: 1765000000, name: repoFullName.split('/').pop(), namespace: repoFullName.split('/')[0], repo_full_name: repoFullName, repo_type: 'private' },
    },
  };
}

describe('notification formats', () => {
  it('distribution: only a manifest pushed under a tag is a push; blobs, pulls and pushes by digest are ignored', () => {
    const d = fakeDigest('v2');
    expect(parseNotification(envelope('shop/web', '1.0', d))).toEqual({ format: 'distribution', pushes: [{ repository: 'shop/web', tag: '1.0', digest: d, mediaType: MT }], ignored: 3 });
  });

  it('Harbor: PUSH_ARTIFACT resources under the repository; other event types are ignored', () => {
    const d = fakeDigest('v2');
    expect(parseNotification(harbor('library/web', 'prod', d))).toEqual({ format: 'harbor', pushes: [{ repository: 'library/web', tag: 'prod', digest: d, mediaType: undefined }], ignored: 0 });
    expect(parseNotification(harbor('library/web', 'prod', d, 'DELETE_ARTIFACT'))).toMatchObject({ pushes: [], ignored: 1 });
  });

  it('every field is checked against its grammar: a bad repository, tag or digest is not a push', () => {
    const good = fakeDigest('x');
    for (const [repo, tag, digest] of [['Shop/Web', '1.0', good], ['shop/web', '-bad', good], ['shop/web', '1.0', 'sha256:short'], ['../etc', '1', good], ['shop/web', 'a'.repeat(129), good]] as const) {
      expect(parseNotification(envelope(repo, tag, digest)), `${repo}:${tag}@${digest}`).toMatchObject({ pushes: [] });
    }
    expect(parseNotification({ events: Array.from({ length: 1001 }, () => ({})) })).toBeInstanceOf(Error);
    expect(parseNotification([])).toBeInstanceOf(Error);
    expect(parseNotification({ hello: 'world' })).toBeInstanceOf(Error);
  });

  it('the secret names the sender: Bearer or bare, never a prefix, never another sender', () => {
    const senders = [{ endpoint: 'https://a.example', secret: SECRET_A }, { endpoint: 'https://b.example', secret: SECRET_B }];
    expect(senderOf(`Bearer ${SECRET_A}`, senders)?.endpoint).toBe('https://a.example');
    expect(senderOf(SECRET_B, senders)?.endpoint).toBe('https://b.example');
    for (const wrong of [`Bearer ${SECRET_A.slice(0, -1)}`, `Bearer ${SECRET_A}x`, 'Bearer ', '', undefined, ['Bearer x'], `Basic ${SECRET_A}`]) expect(senderOf(wrong, senders)).toBeUndefined();
  });
});

describe('the resolver takes notifications', () => {
  const net = routableAddress();
  const regA = new FakeRegistry();
  const regB = new FakeRegistry();
  let app: FastifyInstance;
  let url: string;
  let bare: FastifyInstance;

  beforeAll(async () => {
    await regA.start(undefined, net.address);
    await regB.start(undefined, net.address);
    for (const r of [regA, regB]) r.putManifest('shop/web', manifest('v1'), MT, '1.0');
    app = await buildResolverApp({
      registry: new RegistryClient({ cacheTtlMs: 600_000 }), budgetPerSecond: 50, replicas: 1, version: 't',
      allowedEndpoints: [regA.url, regB.url], notifiers: [{ endpoint: regA.url, secret: SECRET_A }, { endpoint: regB.url, secret: SECRET_B }],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    bare = await buildResolverApp({ registry: new RegistryClient(), budgetPerSecond: 5, replicas: 1, version: 't', allowedEndpoints: [regA.url] });
  });
  afterAll(async () => {
    await app?.close();
    await bare?.close();
    await regA.stop();
    await regB.stop();
    net.cleanup();
  });

  const ask = async (reg: FakeRegistry) =>
    (await (await fetch(`${url}/v1/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endpoint: reg.url, registry: reg.host, repository: 'shop/web', tag: '1.0' }) })).json()) as Record<string, unknown>;
  const notify = (body: unknown, auth: string | undefined, type = DISTRIBUTION_MEDIA_TYPE) =>
    fetch(`${url}/v1/notifications`, { method: 'POST', headers: { 'content-type': type, ...(auth ? { authorization: auth } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('a resolver without --notify refuses every notification (deny by default)', async () => {
    const res = await bare.inject({ method: 'POST', url: '/v1/notifications', headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET_A}` }, payload: envelope('shop/web', '1.0', fakeDigest('v2')) });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'not-configured' });
  });

  it('a wrong secret is refused before the body is read (a body that would not parse gets 401, not 400)', async () => {
    for (const auth of [undefined, 'Bearer nope', `Bearer ${SECRET_A}-`]) {
      const res = await notify('{not json', auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('a body over 1 MiB is refused (413), and an invalid one with the reason (400)', async () => {
    expect((await notify({ events: [], pad: 'x'.repeat(1024 * 1024) }, `Bearer ${SECRET_A}`)).status).toBe(413);
    const bad = await notify({ hello: 1 }, `Bearer ${SECRET_A}`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid', error: expect.stringMatching(/neither a distribution/) });
  });

  it('a push replaces the cached answer at once, with no registry request; the tag history says it moved, announced', async () => {
    const first = await ask(regA);
    expect(first).toMatchObject({ ok: true, since: { moved: false, via: 'answer' } });
    const old = first['digest'] as string;
    const now = regA.putManifest('shop/web', manifest('v2'), MT, '1.0');
    expect(now).not.toBe(old);
    const requests = regA.manifestRequests().length;
    const res = await notify(envelope('shop/web', '1.0', now), `Bearer ${SECRET_A}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1, ignored: 3, format: 'distribution' });
    const after = await ask(regA);
    expect(after).toMatchObject({ ok: true, digest: now, mediaType: MT, since: { digest: now, via: 'notification', moved: true } });
    expect(regA.manifestRequests().length).toBe(requests);
  });

  it("registry A's secret cannot move registry B's tag, whatever the body says", async () => {
    const before = await ask(regB);
    const forged = envelope('shop/web', '1.0', fakeDigest('forged'));
    (forged.events[0]!.request as { host: string }).host = regB.host;
    (forged.events[0]!.target as { url: string }).url = `${regB.url}/v2/shop/web/manifests/1.0`;
    expect((await notify(forged, `Bearer ${SECRET_A}`)).status).toBe(200);
    expect((await ask(regB))['digest']).toBe(before['digest']);
  });

  it('Harbor names no media type: the cached answer is dropped and the next question asks the registry once', async () => {
    const before = await ask(regB);
    regB.putManifest('shop/web', manifest('v3'), MT, '1.0');
    const requests = regB.manifestRequests().length;
    expect((await notify(harbor('shop/web', '1.0', fakeDigest('harbor-says')), `Bearer ${SECRET_B}`, 'application/json')).status).toBe(200);
    const after = await ask(regB);
    expect(after['digest']).not.toBe(before['digest']);
    expect(regB.manifestRequests().length).toBe(requests + 1);
    await ask(regB);
    expect(regB.manifestRequests().length).toBe(requests + 1);
  });

  it('the change feed: a long poll returns as soon as a push arrives; another epoch starts over; no registry request', async () => {
    const start = (await (await fetch(`${url}/v1/changes`)).json()) as { epoch: string; seq: number; changes: unknown[] };
    expect(start.changes).toEqual([]);
    const stale = (await (await fetch(`${url}/v1/changes?epoch=0123456789abcdef&after=0&wait=5`)).json()) as { epoch: string };
    expect(stale.epoch).toBe(start.epoch);
    const t0 = performance.now();
    const poll = fetch(`${url}/v1/changes?epoch=${start.epoch}&after=${start.seq}&wait=20`).then((r) => r.json()) as Promise<{ seq: number; changes: { repository: string; tag: string; digest: string; endpoint: string }[] }>;
    await new Promise((r) => setTimeout(r, 300));
    const requests = regA.manifestRequests().length;
    const d = fakeDigest('v9');
    await notify(envelope('shop/web', '1.0', d), `Bearer ${SECRET_A}`);
    const got = await poll;
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(got.changes).toEqual([expect.objectContaining({ endpoint: regA.url, repository: 'shop/web', tag: '1.0', digest: d })]);
    expect(regA.manifestRequests().length).toBe(requests);
  });

  it("the agent's watcher hears the push within the poll, not at the next scan", async () => {
    const heard: PushedTag[] = [];
    const w = new ResolverChangeWatcher({ resolverUrl: url, onPushes: (p) => heard.push(...p), log: createLogger('error'), waitSeconds: 5 });
    w.start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const d = fakeDigest('v10');
      await notify(envelope('shop/web', '1.0', d), `Bearer ${SECRET_A}`);
      const until = Date.now() + 5_000;
      while (heard.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(heard).toEqual([{ endpoint: regA.url, repository: 'shop/web', tag: '1.0', digest: d }]);
    } finally {
      w.stop();
    }
  });
});

describe('replicas pass notifications to each other', () => {
  it('a push one replica hears reaches the other (its cache and its feed), once, and never loops', async () => {
    const apps: FastifyInstance[] = [];
    const urls: string[] = [];
    const endpoint = 'https://registry.example.com';
    let heardAt: string[] = [];
    for (let i = 0; i < 2; i++) {
      const a = await buildResolverApp({
        registry: new RegistryClient(), budgetPerSecond: 5, replicas: 2, version: 't', allowedEndpoints: [endpoint],
        notifiers: [{ endpoint, secret: SECRET_A }], peers: async () => urls.filter((_, j) => j !== i),
      });
      a.addHook('onRequest', async (req) => {
        if (req.url === '/v1/notifications') heardAt.push(`${i}${req.headers['x-tagdrift-forwarded'] ? ' forwarded' : ''}`);
      });
      await a.listen({ host: '127.0.0.1', port: 0 });
      apps.push(a);
      urls.push(`http://127.0.0.1:${(a.server.address() as AddressInfo).port}`);
    }
    try {
      const feed = (await (await fetch(`${urls[1]}/v1/changes`)).json()) as { epoch: string; seq: number };
      const poll = fetch(`${urls[1]}/v1/changes?epoch=${feed.epoch}&after=${feed.seq}&wait=10`).then((r) => r.json()) as Promise<{ changes: { digest: string }[] }>;
      heardAt = [];
      const d = fakeDigest('pushed-once');
      const res = await fetch(`${urls[0]}/v1/notifications`, { method: 'POST', headers: { 'content-type': DISTRIBUTION_MEDIA_TYPE, authorization: `Bearer ${SECRET_A}` }, body: JSON.stringify(envelope('shop/web', '1.0', d)) });
      expect(res.status).toBe(200);
      expect((await poll).changes.map((c) => c.digest)).toEqual([d]);
      await new Promise((r) => setTimeout(r, 300));
      expect(heardAt).toEqual(['0', '1 forwarded']);
    } finally {
      for (const a of apps) await a.close();
    }
  });
});

describe('a flooding sender', () => {
  it('is held to its rate (429 with Retry-After) and cannot spend another sender\'s share', async () => {
    const endpoint = 'https://registry.example.com';
    const other = 'https://other.example.com';
    const app = await buildResolverApp({
      registry: new RegistryClient(), budgetPerSecond: 5, replicas: 1, version: 't', allowedEndpoints: [endpoint, other], notifierRate: 1,
      notifiers: [{ endpoint, secret: SECRET_A }, { endpoint: other, secret: SECRET_B }],
    });
    try {
      const send = (secret: string) => app.inject({ method: 'POST', url: '/v1/notifications', headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` }, payload: { events: [] } });
      const codes: number[] = [];
      for (let i = 0; i < 15; i++) codes.push((await send(SECRET_A)).statusCode);
      expect(codes.filter((c) => c === 200).length).toBe(10);
      const refused = await send(SECRET_A);
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
      expect((await send(SECRET_B)).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('the change feed holds a bounded number of polls', () => {
  it('past MAX_WAITERS a poll is answered at once instead of held; a closed connection frees its place', async () => {
    const { ChangeFeed, MAX_WAITERS } = await import('../../src/resolver/changes.js');
    const feed = new ChangeFeed();
    let closeAll!: () => void;
    const closed = new Promise<void>((r) => (closeAll = r));
    const held = Array.from({ length: MAX_WAITERS }, () => feed.read(feed.epoch, 0, 20_000, closed));
    expect(feed.waiting).toBe(MAX_WAITERS);
    const t0 = performance.now();
    expect(await feed.read(feed.epoch, 0, 20_000, new Promise(() => undefined))).toMatchObject({ changes: [] });
    expect(performance.now() - t0).toBeLessThan(200);
    closeAll();
    await Promise.all(held);
    expect(feed.waiting).toBe(0);
  });
});

describe('--peers', () => {
  it("resolves the name to every replica's address but this one's own (a name of this machine gives none)", async () => {
    const { peersOf } = await import('../../src/cli/resolver.js');
    expect(await peersOf('localhost', 9421)()).toEqual([]);
    // A literal address not on this machine stands for another replica.
    expect(await peersOf('198.51.100.77', 9421)()).toEqual(['http://198.51.100.77:9421']);
  });
});
