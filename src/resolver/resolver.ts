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
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { schemaController } from '../server/schema-compilers.js';
import client from 'prom-client';
import type { RegistryClient } from '../adapters/registry/client.js';
import type { TagResolved, TagUnverified } from '../domain/tag-truth.js';
import { nodeLocalHost } from '../domain/addresses.js';
import type { ApiAuthorizer } from '../server/api-auth.js';
import { unacceptableTarget } from '../server/request-target.js';
import { monotonicNow } from '../domain/clock.js';
import { validRepository, validTag } from '../domain/oci-grammar.js';
import { endpointKey } from '../domain/registry-plan.js';
import { DISTRIBUTION_MEDIA_TYPE, MAX_NOTIFICATION_BYTES, parseNotification, senderOf, type NotificationSender } from './notifications.js';
import { ChangeFeed, MAX_WAIT_MS } from './changes.js';

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
  /** Registries that announce pushes (POST /v1/notifications), each by its endpoint and secret; none = the route refuses all. */
  readonly notifiers?: readonly NotificationSender[];
  /** Notifications a second one sender may send (bursts of ten seconds' worth). */
  readonly notifierRate?: number;
  /**
   * The other replicas (base URLs), asked when a notification arrives: each replica caches its own
   * answers and serves its own change feed, so a push one replica hears is passed to the others
   * (with the sender's own Authorization, which they check again, and marked so it goes no further).
   */
  readonly peers?: () => Promise<readonly string[]>;
}

/** Set on a notification one replica passes to another: it is not passed on again. */
export const FORWARDED_HEADER = 'x-tagdrift-forwarded';

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
  const feed = new ChangeFeed();
  const notifications = new client.Counter({ name: 'tagdrift_resolver_notifications_total', help: 'Registry notifications received, by result (accepted, unauthorized, invalid, over-quota, not-configured).', labelNames: ['result'], registers: [registry] });
  const pushes = new client.Counter({ name: 'tagdrift_resolver_pushes_total', help: 'Tag pushes announced by registry notifications, by the endpoint they were configured for.', labelNames: ['endpoint'], registers: [registry] });
  new client.Gauge({ name: 'tagdrift_resolver_change_waiters', help: 'Agents waiting on /v1/changes now.', registers: [registry], collect() { this.set(feed.waiting); } });
  const notifiers = (opts.notifiers ?? []).map((n) => ({ ...n, endpoint: endpointKey(n.endpoint) ?? n.endpoint }));
  const forwarded = new client.Counter({ name: 'tagdrift_resolver_notifications_forwarded_total', help: 'Notifications passed to the other replicas, by result (ok, failed).', labelNames: ['result'], registers: [registry] });
  const notifierQuota = new CallerQuota(opts.notifierRate ?? 20, 10 * (opts.notifierRate ?? 20), opts.now);
  app.addContentTypeParser(DISTRIBUTION_MEDIA_TYPE, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.addHook('onRequest', async (req, reply) => {
    const bad = unacceptableTarget(req.raw.url);
    if (bad) return reply.code(400).send({ error: bad });
  });

  /** Decides whether an agent may ask: the same for /v1/resolve and /v1/changes. Undefined when refused (the reply is sent). */
  const callerOf = async (req: FastifyRequest, reply: FastifyReply, refuse: (status: number, error: string, result?: string) => FastifyReply): Promise<string | undefined> => {
    let caller = req.socket.remoteAddress ?? 'unknown';
    if (opts.auth) {
      const d = await opts.auth.authorize(req.socket.remoteAddress, req.headers);
      if (!d.ok) {
        if (d.status === 401) reply.header('www-authenticate', 'Bearer realm="tagdrift-resolver"');
        if (d.status === 503) reply.header('retry-after', '5');
        refuse(d.status, d.reason, 'unauthorized');
        return undefined;
      }
      caller = `${d.who}@${caller}`;
    }
    if (!quota.take(caller)) {
      reply.header('retry-after', '1');
      refuse(429, `more than ${opts.callerRate ?? 50} questions a second from this caller`, 'over-quota');
      return undefined;
    }
    return caller;
  };

  // A registry announcing pushes. The secret decides which endpoint it speaks for, and is checked
  // before the body is read; the body is bounded and every event validated.
  app.post('/v1/notifications', {
    bodyLimit: MAX_NOTIFICATION_BYTES,
    onRequest: async (req, reply) => {
      const refuse = (status: number, code: string, error: string, result: string) => {
        notifications.inc({ result });
        return reply.code(status).send({ code, error });
      };
      if (notifiers.length === 0) return refuse(404, 'not-configured', 'this resolver takes no notifications (--notify)', 'not-configured');
      const sender = senderOf(req.headers.authorization, notifiers);
      if (!sender) {
        reply.header('www-authenticate', 'Bearer realm="tagdrift-notifications"');
        return refuse(401, 'unauthenticated', 'the Authorization header does not carry a configured notification secret', 'unauthorized');
      }
      if (!notifierQuota.take(sender.endpoint)) {
        reply.header('retry-after', '1');
        return refuse(429, 'over-quota', `more than ${opts.notifierRate ?? 20} notifications a second for ${sender.endpoint}`, 'over-quota');
      }
      (req as FastifyRequest & { notifier?: NotificationSender }).notifier = sender;
    },
  }, async (req, reply) => {
    const sender = (req as FastifyRequest & { notifier?: NotificationSender }).notifier!;
    const parsed = parseNotification(req.body);
    if (parsed instanceof Error) {
      notifications.inc({ result: 'invalid' });
      return reply.code(400).send({ code: 'invalid', error: parsed.message });
    }
    notifications.inc({ result: 'accepted' });
    if (opts.peers && req.headers[FORWARDED_HEADER] === undefined && parsed.pushes.length > 0) {
      void forward(opts.peers, JSON.stringify(req.body), req.headers.authorization ?? '').then((r) => {
        for (const [result, n] of Object.entries(r)) if (n > 0) forwarded.inc({ result }, n);
      });
    }
    const at = new Date(opts.now?.() ?? monotonicNow()).toISOString();
    for (const p of parsed.pushes) {
      opts.registry.notePush(sender.endpoint, p.repository, p.tag, p.digest, p.mediaType);
      feed.add({ endpoint: sender.endpoint, repository: p.repository, tag: p.tag, digest: p.digest, at });
      pushes.inc({ endpoint: sender.endpoint });
    }
    return { accepted: parsed.pushes.length, ignored: parsed.ignored, format: parsed.format };
  });

  app.get('/v1/changes', async (req, reply) => {
    const refuse = (status: number, error: string, result = 'refused') => {
      answers.inc({ result });
      return reply.code(status).send({ error });
    };
    if ((await callerOf(req, reply, refuse)) === undefined) return reply;
    const q = req.query as Record<string, unknown>;
    const after = typeof q['after'] === 'string' && /^\d{1,15}$/.test(q['after']) ? Number(q['after']) : undefined;
    const wait = typeof q['wait'] === 'string' && /^\d{1,3}$/.test(q['wait']) ? Math.min(Number(q['wait']) * 1000, MAX_WAIT_MS) : 0;
    const epoch = typeof q['epoch'] === 'string' && /^[0-9a-f]{16}$/.test(q['epoch']) ? q['epoch'] : undefined;
    const closed = new Promise<void>((resolve) => req.raw.socket.once('close', () => resolve()));
    return feed.read(epoch, after, wait, closed);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ready' }));
  app.get('/metrics', async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.post('/v1/resolve', async (req, reply) => {
    const refuse = (status: number, error: string, result = 'refused') => {
      answers.inc({ result });
      return reply.code(status).send({ error });
    };
    const caller = await callerOf(req, reply, refuse);
    if (caller === undefined) return reply;
    const b = (req.body ?? {}) as ResolveBody;
    if (typeof b.endpoint !== 'string' || typeof b.registry !== 'string' || typeof b.repository !== 'string' || typeof b.tag !== 'string') {
      return refuse(400, 'endpoint, registry, repository and tag are required strings');
    }
    if (!REGISTRY.test(b.registry) || !validRepository(b.repository) || !validTag(b.tag)) {
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

/** Passes a notification to each other replica (2 s each, never retried: the next scan's question is the fallback). */
async function forward(peers: () => Promise<readonly string[]>, body: string, authorization: string): Promise<{ ok: number; failed: number }> {
  let urls: readonly string[];
  try {
    urls = (await peers()).slice(0, 16);
  } catch {
    return { ok: 0, failed: 1 };
  }
  const results = await Promise.all(urls.map(async (base) => {
    try {
      const res = await fetch(new URL('/v1/notifications', base), {
        method: 'POST', body, redirect: 'error', signal: AbortSignal.timeout(2_000),
        headers: { 'content-type': 'application/json', authorization, [FORWARDED_HEADER]: '1' },
      });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }));
  return { ok: results.filter(Boolean).length, failed: results.filter((r) => !r).length };
}
