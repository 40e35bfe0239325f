/**
 * Registry requests per hour at the shared resolver, with and without push notifications,
 * for 1,000 simulated agents over one simulated hour (a clock the resolver and its registry
 * client share, advanced scan by scan; the registry is a real HTTP fake counting requests):
 *   - each agent scans every 5 min ± 10 % (the default interval), asking 10 tags of a pool of
 *     100 (each tag asked by ~100 nodes);
 *   - 10 of those tags are re-pushed during the hour, at the same times in both runs;
 *   - without notifications the resolver reuses answers for 60 s (the default cache period);
 *   - with them, for 15 min (`--notified-cache-ttl`), and each push reaches the resolver as
 *     distribution sends it; agents that asked a pushed tag ask it again at once (the change
 *     feed), as the agent does.
 * Reported: the registry's requests in the hour, and how long after each push every agent's
 * next answer had the new digest (simulated time).
 */
import type { FastifyInstance } from 'fastify';
import { RegistryClient } from '../src/adapters/registry/client.js';
import { buildResolverApp } from '../src/resolver/resolver.js';
import { DISTRIBUTION_MEDIA_TYPE } from '../src/resolver/notifications.js';
import { FakeRegistry } from '../test/fakes/fake-registry.js';
import { fakeDigest } from '../test/fakes/fake-cri.js';
import { routableAddress } from '../test/helpers/routable.js';

const AGENTS = 1_000;
const POOL = 100;
const TAGS_PER_AGENT = 10;
const INTERVAL_MS = 300_000;
const HOUR_MS = 3_600_000;
const PUSHES = 10;
const SECRET = 'bench-notification-secret-000000';
const MT = 'application/vnd.oci.image.manifest.v1+json';
const manifest = (seed: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: fakeDigest(seed), size: 2 }, layers: [] }));

const tagsOf = (i: number) => Array.from({ length: TAGS_PER_AGENT }, (_, k) => `team/app-${(i * 7 + k * 13) % POOL}`);

/** A deterministic pseudo-random sequence, so both runs see the same scan times and pushes. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

async function run(registry: FakeRegistry, notify: boolean): Promise<{ requests: number; lagsMs: number[]; questions: number }> {
  for (let t = 0; t < POOL; t++) registry.putManifest(`team/app-${t}`, manifest(`app-${t}-v0`), MT, '1.0');
  const start = 1_800_000_000_000;
  let now = start;
  const client = new RegistryClient({ now: () => now, cacheTtlMs: 60_000, cacheTtlFor: notify ? () => 900_000 : undefined, concurrency: 64, perHostConcurrency: 32 });
  const app: FastifyInstance = await buildResolverApp({
    registry: client, budgetPerSecond: 1e6, replicas: 1, version: 'bench', allowedEndpoints: [registry.url], callerRate: 1e9, callerShare: 1, now: () => now,
    ...(notify ? { notifiers: [{ endpoint: registry.url, secret: SECRET }] } : {}),
  });
  const ask = async (repo: string): Promise<string | undefined> => {
    const res = await app.inject({ method: 'POST', url: '/v1/resolve', payload: { endpoint: registry.url, registry: registry.host, repository: repo, tag: '1.0' } });
    const b = res.json() as { ok: boolean; digest?: string };
    return b.ok ? b.digest : undefined;
  };
  const r = rng(42);
  const events: { at: number; kind: 'scan' | 'push'; i: number }[] = [];
  for (let i = 0; i < AGENTS; i++) {
    for (let at = start + r() * INTERVAL_MS; at < start + HOUR_MS; at += INTERVAL_MS * (0.9 + 0.2 * r())) events.push({ at, kind: 'scan', i });
  }
  for (let p = 0; p < PUSHES; p++) events.push({ at: start + ((p + 0.5) / PUSHES) * HOUR_MS, kind: 'push', i: (p * 17) % POOL });
  events.sort((a, b) => a.at - b.at);
  const before = registry.manifestRequests().length;
  const pending = new Map<string, { digest: string; at: number; agents: Set<number> }>();
  const lagsMs: number[] = [];
  let questions = 0;
  const record = (i: number, repo: string, digest: string | undefined) => {
    const p = pending.get(repo);
    if (!p || digest !== p.digest || !p.agents.has(i)) return;
    p.agents.delete(i);
    lagsMs.push(now - p.at);
  };
  for (const e of events) {
    now = e.at;
    if (e.kind === 'scan') {
      for (const repo of tagsOf(e.i)) {
        questions += 1;
        record(e.i, repo, await ask(repo));
      }
      continue;
    }
    const repo = `team/app-${e.i}`;
    const digest = registry.putManifest(repo, manifest(`${repo}-${e.at}`), MT, '1.0');
    const askers = new Set(Array.from({ length: AGENTS }, (_, i) => i).filter((i) => tagsOf(i).includes(repo)));
    pending.set(repo, { digest, at: now, agents: askers });
    if (notify) {
      await app.inject({
        method: 'POST', url: '/v1/notifications', headers: { 'content-type': DISTRIBUTION_MEDIA_TYPE, authorization: `Bearer ${SECRET}` },
        payload: JSON.stringify({ events: [{ action: 'push', target: { mediaType: MT, digest, repository: repo, tag: '1.0' } }] }),
      });
      // The agents that check this tag hear of it on the change feed and scan at once (2 s later at most).
      now += 2_000;
      for (const i of askers) {
        questions += 1;
        record(i, repo, await ask(repo));
      }
    }
  }
  const requests = registry.manifestRequests().length - before;
  await app.close();
  client.close();
  return { requests, lagsMs, questions };
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;

export async function benchNotifyLoad(): Promise<Record<string, number | string>> {
  const net = routableAddress();
  const out: Record<string, number | string> = { agents: AGENTS, 'tags per agent': TAGS_PER_AGENT, 'distinct tags': POOL, 'pushes in the hour': PUSHES };
  for (const notify of [false, true]) {
    const registry = new FakeRegistry();
    await registry.start(undefined, net.address);
    const t0 = Date.now();
    const r = await run(registry, notify);
    const name = notify ? 'with notifications' : 'without notifications';
    out[`${name}: registry requests per hour`] = r.requests;
    out[`${name}: questions to the resolver per hour`] = r.questions;
    out[`${name}: push to every node's answer, median (s, simulated)`] = (pct(r.lagsMs, 0.5) / 1000).toFixed(1);
    out[`${name}: push to every node's answer, worst (s, simulated)`] = (Math.max(...r.lagsMs) / 1000).toFixed(1);
    out[`${name}: run time (s)`] = ((Date.now() - t0) / 1000).toFixed(0);
    await registry.stop();
  }
  net.cleanup();
  return out;
}
