/**
 * The shared resolver and the agents' side of it, over HTTP with a fake registry on a
 * routable address of this machine: one registry request per question per cache period
 * whatever the number of nodes asking, a per-registry budget that defers the rest as
 * unverified, node-local endpoints and node credentials kept on the node, and a resolver
 * that goes away: the node asks directly within its small budget, reports the rest
 * unverified, and uses the resolver again once it is back.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { createSharedLookup, ResolverHealth, shareable } from '../../src/adapters/registry/shared-lookup.js';
import type { RegistryLookup } from '../../src/domain/ports.js';
import type { PlannedEndpoint } from '../../src/domain/registry-config.js';
import type { TagResolved, TagUnverified } from '../../src/domain/tag-truth.js';
import { buildResolverApp } from '../../src/resolver/resolver.js';
import { fakeDigest } from '../fakes/fake-cri.js';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { routableAddress } from '../helpers/routable.js';
import { freePort } from '../../testbed/proc.js';

const MT = 'application/vnd.oci.image.manifest.v1+json';
const manifest = (seed: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: fakeDigest(seed), size: 2 }, layers: [] }));
const net = routableAddress();
const registry = new FakeRegistry();
let app: FastifyInstance;
let resolverUrl: string;
const endpoint = (url: string): PlannedEndpoint => ({ url, capabilities: ['pull', 'resolve'], source: 'test', skipVerify: false, headerNames: [] });

beforeAll(async () => {
  await registry.start(undefined, net.address);
  for (let i = 0; i < 20; i++) registry.putManifest(`team/app${i}`, manifest(`app${i}`), MT, '1.0');
  app = await buildResolverApp({ registry: new RegistryClient({ cacheTtlMs: 60_000 }), budgetPerSecond: 6, replicas: 1, version: 't', allowedEndpoints: [registry.url] });
  await app.listen({ host: '127.0.0.1', port: 0 });
  resolverUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await registry.stop();
  net.cleanup();
});

const heads = () => registry.manifestRequests().length;
const ask = async (repo: string): Promise<TagResolved | TagUnverified> =>
  (await (await fetch(`${resolverUrl}/v1/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endpoint: registry.url, registry: registry.host, repository: repo, tag: '1.0' }) })).json()) as TagResolved | TagUnverified;

describe('shared resolver', () => {
  it('200 nodes asking the same question: one registry request', async () => {
    const before = heads();
    const answers = await Promise.all(Array.from({ length: 200 }, () => ask('team/app0')));
    expect(heads() - before).toBe(1);
    for (const a of answers) expect(a).toMatchObject({ ok: true, via: 'resolver' });
  });

  it('over the per-registry budget: deferred as rate-limited with the reason, never guessed', async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => ask(`team/app${i + 1}`)));
    const deferred = answers.filter((a) => !a.ok && a.kind === 'rate-limited');
    expect(answers.filter((a) => a.ok).length).toBeLessThanOrEqual(5); // 90 % of 6 a second
    expect(deferred.length).toBeGreaterThanOrEqual(7);
    expect((deferred[0] as TagUnverified).message).toMatch(/shared per-registry budget \(6 requests\/s\)/);
  });

  it('refuses node-local endpoints and URLs with credentials', async () => {
    for (const url of ['http://127.0.0.1:30020', 'http://[::1]:5000', 'http://169.254.169.254', 'https://user:pw@registry.example']) {
      const res = await fetch(`${resolverUrl}/v1/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endpoint: url, registry: 'r', repository: 'a', tag: '1' }) });
      expect([400, 403], url).toContain(res.status);
    }
  });
});

describe("the agent's side", () => {
  const opts = { nodeAddresses: ['10.0.0.7'], credentialHosts: new Set(['private.example:5000']) };

  it('keeps node-local endpoints, node credentials, certificates and headers on the node', () => {
    expect(shareable(endpoint('https://registry-1.docker.io'), opts)).toBe(true);
    expect(shareable(endpoint('http://127.0.0.1:30020'), opts)).toBe(false);
    expect(shareable(endpoint('http://10.0.0.7:30020'), opts)).toBe(false);
    expect(shareable(endpoint('https://private.example:5000'), opts)).toBe(false);
    expect(shareable({ ...endpoint('https://mirror.example'), headerNames: ['authorization'] }, opts)).toBe(false);
    expect(shareable({ ...endpoint('https://mirror.example'), tls: { ca: ['/etc/ca.pem'], clientPairs: [] } }, opts)).toBe(false);
  });

  it('resolver down: direct within the per-scan budget, the rest unverified; back: used again without a restart', async () => {
    let direct = 0;
    const directLookup: RegistryLookup = {
      resolveTag: async () => {
        direct += 1;
        return { ok: true, digest: fakeDigest('direct'), mediaType: MT };
      },
      platformImage: async () => ({ ok: false, reason: 'x' }),
      buildMeta: async () => undefined,
    };
    let now = 0;
    const health = new ResolverHealth(() => now);
    // A resolver address nothing listens on (a port just freed).
    const nothing = `http://127.0.0.1:${await freePort()}`;
    const down = createSharedLookup(directLookup, { resolverUrl: nothing, nodeAddresses: [], credentialHosts: new Set(), fallbackPerScan: 3, timeoutMs: 1_000, now: () => now }, health);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await down.resolveTag(endpoint(registry.url), registry.host, `team/app${i}`, '1.0'));
    expect(direct).toBe(3);
    expect(results.filter((r) => !r.ok).map((r) => (r as TagUnverified).message)[0]).toMatch(/not answering and this scan's direct budget \(3\) is spent/);
    // The next scan, after the back-off, with the resolver back: answers come from it.
    now += 120_000;
    const up = createSharedLookup(directLookup, { resolverUrl, nodeAddresses: [], credentialHosts: new Set(), fallbackPerScan: 3, now: () => now }, health);
    const r = await up.resolveTag(endpoint(registry.url), registry.host, 'team/app0', '1.0');
    expect(r).toMatchObject({ ok: true, via: 'resolver' });
    expect(direct).toBe(3);
  });
});

describe('an overloaded resolver is not bypassed', () => {
  it('errors and resets from a listening resolver: unverified, no direct question', async () => {
    const { createServer } = await import('node:http');
    const failing = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
    let direct = 0;
    const directLookup: RegistryLookup = { resolveTag: async () => ((direct += 1), { ok: true, digest: fakeDigest('x'), mediaType: MT }), platformImage: async () => ({ ok: false, reason: 'x' }), buildMeta: async () => undefined };
    const lookup = createSharedLookup(directLookup, { resolverUrl: `http://127.0.0.1:${(failing.address() as AddressInfo).port}`, nodeAddresses: [], credentialHosts: new Set(), fallbackPerScan: 3 }, new ResolverHealth());
    const r = await lookup.resolveTag(endpoint(registry.url), registry.host, 'team/app0', '1.0');
    expect(r).toMatchObject({ ok: false, kind: 'unreachable', message: expect.stringMatching(/not bypassed/) });
    expect(direct).toBe(0);
    failing.close();
  });
});

describe('deploy/components/resolver', () => {
  it('renders a hardened Deployment (meets Pod Security restricted), its Service, PDB and NetworkPolicy, and points the agents at it', async () => {
    const { overlay } = await import('../helpers/kustomize.js');
    const { strictestLevel } = await import('../helpers/pod-security.js');
    const objs = overlay('resources: [../../deploy]\ncomponents: [../../deploy/components/resolver, ../../deploy/components/monitoring]\n');
    const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tagdrift-resolver')!;
    expect(dep['spec'].replicas).toBe(2);
    expect(strictestLevel(dep['spec'].template.spec)).toBe('restricted');
    const env = dep['spec'].template.spec.containers[0].env as { name: string; value: string }[];
    expect(Number(env.find((e) => e.name === 'TAGDRIFT_RESOLVER_REPLICAS')!.value)).toBe(dep['spec'].replicas);
    const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'tagdrift-resolver')!;
    const agentEnv = objs.find((o) => o.kind === 'DaemonSet')!['spec'].template.spec.containers[0].env as { name: string; value?: string }[];
    expect(agentEnv.find((e) => e.name === 'TAGDRIFT_RESOLVER_URL')?.value).toBe(`http://${svc.metadata.name}.${svc.metadata.namespace}.svc:${svc['spec'].ports[0].port}`);
    expect(objs.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'tagdrift-resolver')).toBe(true);
    expect(objs.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'tagdrift-resolver')).toBe(true);
    const sm = objs.find((o) => o.kind === "ServiceMonitor" && o.metadata.name === "tagdrift-resolver")!;
    for (const [k, v] of Object.entries(sm["spec"].selector.matchLabels)) expect(svc.metadata.labels![k]).toBe(v);
  });
});
