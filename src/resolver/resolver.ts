/**
 * The shared resolver (`tagdrift resolver`): one small stateless service for the whole
 * cluster that answers "what does this tag point to at this endpoint", so a question asked by
 * every node reaches the registry once per cache period. It reuses the agents' registry
 * client (cache, in-flight sharing, per-host limits, backoff, classification) and adds a
 * per-registry budget: at most `budgetPerSecond / replicas` requests a second per registry
 * host from each replica, so the cluster never exceeds the budget whatever the node count.
 * A question over budget is answered `rate-limited` (tagdrift's own budget), never guessed.
 *
 * It answers only for endpoints any pod can reach: never loopback or link-local addresses
 * (node-local mirrors stay with their node), and it holds no node's credentials.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { schemaController } from '../server/schema-compilers.js';
import client from 'prom-client';
import type { RegistryClient } from '../adapters/registry/client.js';
import type { TagResolved, TagUnverified } from '../domain/registry-truth.js';
import { nodeLocalHost } from '../domain/addresses.js';

export interface ResolverOptions {
  readonly registry: RegistryClient;
  /** Registry requests a second per registry host, cluster-wide. */
  readonly budgetPerSecond: number;
  /** Replicas sharing the budget. */
  readonly replicas: number;
  readonly now?: () => number;
  readonly version: string;
  /** Lets the caller route the registry client's request events to the resolver's metrics. */
  readonly onRequestHook?: (count: (host: string, code: string) => void) => void;
}

/**
 * At most `rate` grants per key in any one-second window (a sliding window, so no burst
 * above the rate, even at start): what "N requests a second" promises. A fractional rate
 * allows at least one.
 */
export class Budget {
  private readonly grants = new Map<string, number[]>();
  private readonly perWindow: number;
  constructor(rate: number, private readonly now: () => number = Date.now) {
    this.perWindow = Math.max(1, Math.floor(rate));
  }

  take(key: string): boolean {
    const t = this.now();
    const list = (this.grants.get(key) ?? []).filter((g) => t - g < 1000);
    if (list.length >= this.perWindow) {
      this.grants.set(key, list);
      return false;
    }
    list.push(t);
    this.grants.set(key, list);
    return true;
  }
}

interface ResolveBody {
  endpoint?: unknown;
  registry?: unknown;
  repository?: unknown;
  tag?: unknown;
}

export async function buildResolverApp(opts: ResolverOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, requestTimeout: 30_000, bodyLimit: 16 * 1024, schemaController });
  app.server.maxConnections = 4096;
  // 10 % under the budget: a request granted at the end of one second can arrive at the
  // registry in the next (measured: up to 8 % over at 1,000 agents without the margin).
  const budget = new Budget((0.9 * opts.budgetPerSecond) / Math.max(1, opts.replicas), opts.now);
  const registry = new client.Registry();
  const registryRequests = new client.Counter({ name: 'tagdrift_registry_requests_total', help: 'Registry HTTP exchanges the resolver made, by host and status code.', labelNames: ['host', 'code'], registers: [registry] });
  opts.onRequestHook?.((host, code) => registryRequests.inc({ host, code }));
  const answers = new client.Counter({ name: 'tagdrift_resolver_answers_total', help: 'Questions answered, by result (resolved, unverified, over-budget, refused).', labelNames: ['result'], registers: [registry] });
  new client.Gauge({ name: 'tagdrift_build_info', help: 'Build information.', labelNames: ['version', 'nodejs', 'component'], registers: [registry] }).set({ version: opts.version, nodejs: process.versions.node, component: 'resolver' }, 1);
  client.collectDefaultMetrics({ register: registry });
  // The budget is spent only on questions that reach the registry: answers from the cache, or
  // joining one in flight, are free.
  const inflight = new Map<string, Promise<TagResolved | TagUnverified>>();

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ready' }));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.post('/v1/resolve', async (req, reply) => {
    const b = (req.body ?? {}) as ResolveBody;
    if (typeof b.endpoint !== 'string' || typeof b.registry !== 'string' || typeof b.repository !== 'string' || typeof b.tag !== 'string') {
      answers.inc({ result: 'refused' });
      return reply.code(400).send({ error: 'endpoint, registry, repository and tag are required strings' });
    }
    let url: URL;
    try {
      url = new URL(b.endpoint);
    } catch {
      answers.inc({ result: 'refused' });
      return reply.code(400).send({ error: 'endpoint is not a URL' });
    }
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || nodeLocalHost(url.host)) {
      answers.inc({ result: 'refused' });
      return reply.code(400).send({ error: 'the resolver answers only for http(s) endpoints every node can reach (no loopback, link-local or userinfo)' });
    }
    const key = `${b.endpoint}|${b.registry}|${b.repository}|${b.tag}`;
    let p = inflight.get(key);
    if (!p) {
      const cached = opts.registry.cachedTag({ url: b.endpoint }, b.registry, b.repository, b.tag);
      if (cached) {
        answers.inc({ result: cached.ok ? 'resolved' : 'unverified' });
        return { ...cached, via: 'resolver' };
      }
      if (!budget.take(url.host)) {
        answers.inc({ result: 'over-budget' });
        return { ok: false, kind: 'rate-limited', message: `${url.host}: tagdrift's shared per-registry budget (${opts.budgetPerSecond} requests/s) deferred this question`, via: 'resolver' } satisfies TagUnverified;
      }
      p = opts.registry.resolveTag({ url: b.endpoint }, b.registry, b.repository, b.tag).finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    const r = await p;
    answers.inc({ result: r.ok ? 'resolved' : 'unverified' });
    return { ...r, via: 'resolver' };
  });
  return app;
}
