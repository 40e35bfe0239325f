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
import type { TagResolved, TagUnverified } from '../domain/tag-truth.js';
import { nodeLocalHost } from '../domain/addresses.js';
import type { ApiAuthorizer } from '../server/api-auth.js';
import { unacceptableTarget } from '../server/request-target.js';
import { monotonicNow } from '../domain/clock.js';

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
  /** The endpoints the resolver may ask (scheme://host[:port][/path]); every other is refused. */
  readonly allowedEndpoints: readonly string[];
  /** Who may ask (TokenReview of the caller's token); absent = anyone who can connect. */
  readonly auth?: ApiAuthorizer;
  /** Questions a second one caller may ask (bursts of ten seconds' worth). */
  readonly callerRate?: number;
  /** The part of a registry's budget window one caller may take (default a half). */
  readonly callerShare?: number;
}

/** An endpoint as the allow-list and the questions compare it: origin plus any API path, no trailing slash. */
export function endpointKey(endpoint: string): string | undefined {
  try {
    const u = new URL(endpoint);
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search || u.hash) return undefined;
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}

/** A token bucket per caller: `rate` a second, bursts of `burst`; monotonic time. */
export class CallerQuota {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly rate: number, private readonly burst: number, private readonly now: () => number = monotonicNow) {}
  take(caller: string): boolean {
    const t = this.now();
    const b = this.buckets.get(caller) ?? { tokens: this.burst, at: t };
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    if (this.buckets.size >= 10_000 && !this.buckets.has(caller)) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(caller, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}

/**
 * At most `rate` grants per key in any one-second window (a sliding window, so no burst
 * above the rate, even at start): what "N requests a second" promises. A fractional rate
 * allows at least one.
 */
export class Budget {
  private readonly grants = new Map<string, { at: number; caller: string | undefined }[]>();
  private readonly perWindow: number;
  constructor(rate: number, private readonly now: () => number = monotonicNow) {
    this.perWindow = Math.max(1, Math.floor(rate));
  }

  /**
   * A grant for `key` (a registry endpoint), at most the window's rate; with `caller`, no caller
   * takes more than `share` of any window, so one caller cannot spend the budget of the others.
   */
  take(key: string, caller?: string, share = 0.5): boolean {
    const t = this.now();
    const list = (this.grants.get(key) ?? []).filter((g) => t - g.at < 1000);
    const mine = caller === undefined ? 0 : list.filter((g) => g.caller === caller).length;
    if (list.length >= this.perWindow || (caller !== undefined && this.perWindow > 1 && mine >= Math.max(1, Math.ceil(this.perWindow * share)))) {
      this.grants.set(key, list);
      return false;
    }
    list.push({ at: t, caller });
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

/** OCI distribution's grammar for a repository name, and for a tag. */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const REGISTRY = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** Distinct registry hosts labelled on /metrics at most; the rest are counted as `other`. */
const MAX_HOST_LABELS = 64;

export async function buildResolverApp(opts: ResolverOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, requestTimeout: 30_000, bodyLimit: 16 * 1024, schemaController });
  app.server.maxConnections = 4096;
  const allowed = new Set(opts.allowedEndpoints.map(endpointKey).filter((k): k is string => k !== undefined));
  // 10 % under the budget: a request granted at the end of one second can arrive at the
  // registry in the next (measured: up to 8 % over at 1,000 agents without the margin).
  const budget = new Budget((0.9 * opts.budgetPerSecond) / Math.max(1, opts.replicas), opts.now);
  const quota = new CallerQuota(opts.callerRate ?? 50, 10 * (opts.callerRate ?? 50), opts.now);
  const registry = new client.Registry();
  const registryRequests = new client.Counter({ name: 'tagdrift_registry_requests_total', help: 'Registry HTTP exchanges the resolver made, by host and status code.', labelNames: ['host', 'code'], registers: [registry] });
  const hosts = new Set<string>();
  opts.onRequestHook?.((host, code) => {
    if (!hosts.has(host) && hosts.size < MAX_HOST_LABELS) hosts.add(host);
    registryRequests.inc({ host: hosts.has(host) ? host : 'other', code: /^\d{3}$/.test(code) ? code : code.slice(0, 24) });
  });
  const answers = new client.Counter({ name: 'tagdrift_resolver_answers_total', help: 'Questions answered, by result (resolved, unverified, over-budget, refused, unauthorized, over-quota).', labelNames: ['result'], registers: [registry] });
  new client.Gauge({ name: 'tagdrift_build_info', help: 'Build information.', labelNames: ['version', 'nodejs', 'component'], registers: [registry] }).set({ version: opts.version, nodejs: process.versions.node, component: 'resolver' }, 1);
  client.collectDefaultMetrics({ register: registry });
  // The budget is spent only on questions that reach the registry: answers from the cache, or
  // joining one in flight, are free.
  const inflight = new Map<string, Promise<TagResolved | TagUnverified>>();

  app.addHook('onRequest', async (req, reply) => {
    const bad = unacceptableTarget(req.raw.url);
    if (bad) return reply.code(400).send({ error: bad });
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ready' }));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.post('/v1/resolve', async (req, reply) => {
    const refuse = (status: number, error: string, result = 'refused') => {
      answers.inc({ result });
      return reply.code(status).send({ error });
    };
    let caller = req.socket.remoteAddress ?? 'unknown';
    if (opts.auth) {
      const d = await opts.auth.authorize(req.socket.remoteAddress, req.headers);
      if (!d.ok) {
        if (d.status === 401) reply.header('www-authenticate', 'Bearer realm="tagdrift-resolver"');
        if (d.status === 503) reply.header('retry-after', '5');
        return refuse(d.status, d.reason, 'unauthorized');
      }
      caller = `${d.who}@${caller}`;
    }
    if (!quota.take(caller)) {
      reply.header('retry-after', '1');
      return refuse(429, `more than ${opts.callerRate ?? 50} questions a second from this caller`, 'over-quota');
    }
    const b = (req.body ?? {}) as ResolveBody;
    if (typeof b.endpoint !== 'string' || typeof b.registry !== 'string' || typeof b.repository !== 'string' || typeof b.tag !== 'string') {
      return refuse(400, 'endpoint, registry, repository and tag are required strings');
    }
    if (!REGISTRY.test(b.registry) || !REPOSITORY.test(b.repository) || b.repository.length > 255 || !TAG.test(b.tag)) {
      return refuse(400, 'registry, repository or tag is not a valid OCI name');
    }
    const endpoint = endpointKey(b.endpoint);
    if (endpoint === undefined) return refuse(400, 'endpoint is not an http(s) URL without user info, query or fragment');
    const url = new URL(endpoint);
    if (nodeLocalHost(url.host) || !allowed.has(endpoint)) {
      answers.inc({ result: 'not-served' });
      return reply.code(403).send({ code: 'endpoint-not-served', error: 'this resolver does not ask that endpoint (not in its --allow-endpoints): ask it directly' });
    }
    const key = `${endpoint}|${b.registry}|${b.repository}|${b.tag}`;
    let p = inflight.get(key);
    if (!p) {
      const cached = opts.registry.cachedTag({ url: endpoint }, b.registry, b.repository, b.tag);
      if (cached) {
        answers.inc({ result: cached.ok ? 'resolved' : 'unverified' });
        return { ...cached, via: 'resolver' };
      }
      if (!budget.take(url.origin, caller, opts.callerShare)) {
        answers.inc({ result: 'over-budget' });
        return { ok: false, kind: 'rate-limited', message: `${url.host}: tagdrift's shared per-registry budget (${opts.budgetPerSecond} requests/s) deferred this question`, via: 'resolver' } satisfies TagUnverified;
      }
      p = opts.registry.resolveTag({ url: endpoint }, b.registry, b.repository, b.tag).finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    const r = await p;
    answers.inc({ result: r.ok ? 'resolved' : 'unverified' });
    return { ...r, via: 'resolver' };
  });
  return app;
}
