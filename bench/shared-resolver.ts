/**
 * Registry load with the shared resolver, at 1,000 simulated agents (each the agents' own
 * shared lookup over HTTP, in this process) against fake registries that count requests per
 * host and per second:
 *   - a shared upstream registry and a shared pull-through mirror (on a routable address of
 *     this machine, so the resolver answers for them), and node-local mirrors on loopback for
 *     one agent in ten (asked by their node only);
 *   - each agent asks 200 tags per scan from a pool of 2,000 (40 of them through the shared
 *     mirror), the same questions many nodes ask;
 *   - phase "burst": every agent starts at once (per-registry budget must hold);
 *   - phase "steady": the next cache period's questions (a new tag: nothing cached), agents
 *     spread over 70 s as their jitter spreads them: registry requests vs the distinct
 *     questions (target ≤ 1.1×);
 *   - phase "outage": the resolver is stopped; agents ask directly within their per-scan
 *     budget and report the rest unverified; it is started again and agents return to it.
 * Baseline for comparison: the same questions asked per node (no resolver).
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RegistryClient } from '../src/adapters/registry/client.js';
import { createSharedLookup, ResolverHealth } from '../src/adapters/registry/shared-lookup.js';
import type { RegistryLookup } from '../src/domain/ports.js';
import type { PlannedEndpoint } from '../src/domain/registry-config.js';
import type { TagResolved, TagUnverified } from '../src/domain/tag-truth.js';
import { buildResolverApp } from '../src/resolver/resolver.js';
import { routableAddress } from '../test/helpers/routable.js';

const AGENTS = 1_000;
const TAGS_PER_AGENT = 200;
const POOL = 2_000;
const VIA_MIRROR = 40;
const CACHE_MS = 300_000;
const STEADY_SPREAD_MS = 70_000;
const BUDGET = 100;

interface Counting {
  url: string;
  host: string;
  index: number;
  proc: ChildProcess;
}

/** `n` counting registries in a child process on `address`. */
async function countingRegistries(address: string, n: number): Promise<Counting[]> {
  const proc = fork(fileURLToPath(new URL('./counting-registry.ts', import.meta.url)), [address, String(n)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { urls } = await new Promise<{ urls: string[] }>((r) => proc.once('message', (m) => r(m as { urls: string[] })));
  return urls.map((url, index) => ({ url, host: url.replace(/^http:\/\//, ''), index, proc }));
}

async function statsOf(proc: ChildProcess): Promise<{ total: number; perSecond: Record<number, number> }[]> {
  proc.send('stats');
  return (await new Promise<{ stats: { total: number; perSecond: Record<number, number> }[] }>((r) => proc.once('message', (m) => r(m as never)))).stats;
}

const ep = (url: string): PlannedEndpoint => ({ url, capabilities: ['pull', 'resolve'], source: 'bench', skipVerify: false, headerNames: [] });

/** What agent `i` asks in a scan: 200 tags of the pool (overlapping across agents), some via the shared mirror, some via its node-local mirror. */
function questions(i: number, upstream: Counting, mirror: Counting, local: Counting | undefined): { e: PlannedEndpoint; repo: string }[] {
  const out: { e: PlannedEndpoint; repo: string }[] = [];
  for (let k = 0; k < TAGS_PER_AGENT; k++) {
    const t = (i * 37 + k * 11) % POOL;
    const e = k < VIA_MIRROR ? mirror : local && k < VIA_MIRROR + 10 ? local : upstream;
    out.push({ e: ep(e.url), repo: `team/app-${t}` });
  }
  return out;
}

export async function benchSharedResolver(): Promise<Record<string, number | string>> {
  const net = routableAddress();
  const [upstream, mirror] = (await countingRegistries(net.address, 2)) as [Counting, Counting];
  const locals = await countingRegistries('127.0.0.1', AGENTS / 10);
  const directClient = new RegistryClient({ cacheTtlMs: CACHE_MS, concurrency: 256, perHostConcurrency: 64 });
  // A node's direct questions: its own client (one per node in reality; the fake counts the requests).
  const direct: RegistryLookup = {
    resolveTag: (e, registry, repo, tag) => directClient.resolveTag({ url: e.url }, registry, repo, tag),
    platformImage: async () => ({ ok: false, reason: 'bench' }),
    buildMeta: async () => undefined,
  };
  let app = await buildResolverApp({ registry: new RegistryClient({ cacheTtlMs: CACHE_MS, concurrency: 64, perHostConcurrency: 32 }), budgetPerSecond: BUDGET, replicas: 1, version: 'bench', allowedEndpoints: [upstream.url, mirror.url], callerRate: 1e6, callerShare: 1 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const resolverUrl = `http://127.0.0.1:${port}`;
  const healths = Array.from({ length: AGENTS }, () => new ResolverHealth());
  const scan = async (i: number, tag = '1.0') => {
    const lookup = createSharedLookup(direct, { resolverUrl, nodeAddresses: [], credentialHosts: new Set(), fallbackPerScan: 20, timeoutMs: 10_000 }, healths[i]!);
    const local = i % 10 === 0 ? locals[i / 10] : undefined;
    const results: (TagResolved | TagUnverified)[] = [];
    for (const q of questions(i, upstream, mirror, local)) results.push(await lookup.resolveTag(q.e, 'registry.example', q.repo, tag));
    return results;
  };
  const distinct = new Set<string>();
  for (let i = 0; i < AGENTS; i++) for (const q of questions(i, upstream, mirror, i % 10 === 0 ? locals[i / 10] : undefined)) distinct.add(`${q.e.url}|${q.repo}`);
  const registryTotal = async () => {
    const shared = await statsOf(upstream.proc);
    const local = await statsOf(locals[0]!.proc);
    return shared.reduce((n, x) => n + x.total, 0) + local.reduce((n, x) => n + x.total, 0);
  };
  const maxPerSecond = async (c: Counting, since = 0) => Math.max(0, ...Object.entries((await statsOf(c.proc))[c.index]!.perSecond).filter(([sec]) => Number(sec) * 1000 >= since).map(([, n]) => n));
  const out: Record<string, number | string> = { agents: AGENTS, 'tags per agent per scan': TAGS_PER_AGENT, 'distinct questions in the cluster': distinct.size, 'budget (requests/s per registry)': BUDGET, 'cache period (s)': CACHE_MS / 1000 };
  out['baseline without resolver: requests per cache period'] = AGENTS * TAGS_PER_AGENT;

  // Burst: all agents at once.
  const t0 = Date.now();
  const burst = await Promise.all(Array.from({ length: AGENTS }, (_, i) => scan(i)));
  out['burst: max requests/s at the upstream'] = await maxPerSecond(upstream);
  out['burst: max requests/s at the shared mirror'] = await maxPerSecond(mirror);
  out['burst: answers deferred by the budget (unverified, said so)'] = burst.flat().filter((r) => !r.ok && r.kind === 'rate-limited').length;
  out['burst: duration (s)'] = ((Date.now() - t0) / 1000).toFixed(1);

  // Steady state: the questions of a new cache period (tag 2.0: nothing cached), agents spread
  // over 70 s as their jitter spreads them.
  const before = await registryTotal();
  const t1 = Date.now();
  const steadyAnswers = await Promise.all(Array.from({ length: AGENTS }, async (_, i) => {
    await new Promise((r) => setTimeout(r, (i / AGENTS) * STEADY_SPREAD_MS));
    return scan(i, '2.0');
  }));
  const steady = (await registryTotal()) - before;
  out['steady: registry requests in the cache period'] = steady;
  out['steady: requests / distinct questions'] = (steady / distinct.size).toFixed(3);
  out['steady: answers deferred by the budget'] = steadyAnswers.flat().filter((r) => !r.ok && r.kind === 'rate-limited').length;
  out['steady: duration (s)'] = ((Date.now() - t1) / 1000).toFixed(1);
  out['steady: max requests/s at the upstream'] = await maxPerSecond(upstream, t1);
  out['steady: max requests/s at the shared mirror'] = await maxPerSecond(mirror, t1);

  // Outage: the resolver stops; agents go on within their direct budget; it comes back.
  await app.close();
  const beforeOutage = await registryTotal();
  const outage = await Promise.all(Array.from({ length: 100 }, (_, i) => scan(i, '3.0')));
  out['outage (100 agents): direct registry requests'] = (await registryTotal()) - beforeOutage;
  out['outage: answers unverified (resolver down, budget spent)'] = outage.flat().filter((r) => !r.ok && r.kind === 'unreachable').length;
  app = await buildResolverApp({ registry: new RegistryClient({ cacheTtlMs: CACHE_MS, concurrency: 64, perHostConcurrency: 32 }), budgetPerSecond: BUDGET * 100, replicas: 1, version: 'bench', allowedEndpoints: [upstream.url, mirror.url], callerRate: 1e6, callerShare: 1 });
  await app.listen({ host: '127.0.0.1', port });
  await new Promise((r) => setTimeout(r, 65_000));
  const back = await Promise.all(Array.from({ length: 100 }, (_, i) => scan(i, '4.0')));
  out['after restart: answers from the resolver'] = back.flat().filter((r) => r.via === 'resolver').length;
  out['after restart: answers'] = back.flat().length;
  await app.close();
  directClient.close();
  upstream.proc.kill();
  locals[0]!.proc.kill();
  net.cleanup();
  return out;
}
