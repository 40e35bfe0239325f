/**
 * The HTTP API: a fastify app factory (tested with inject()). Read-only; everything
 * is served from the agent's latest report and the metrics registry, so a hung
 * runtime or registry never slows a request. Response schemas double as the
 * OpenAPI document at /openapi.json.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import { ALL_FINDING_CODES, FINDING_CODES, SEVERITIES } from '../domain/finding-codes.js';
import type { Report } from '../domain/report.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ApiAuthorizer } from './api-auth.js';
import { HTML_CSP, renderHtml } from '../render/html.js';
import { gzipPieces, jsonPieces } from './json-pieces.js';
import { unacceptableTarget } from './request-target.js';
import { schemaController } from './schema-compilers.js';

export interface AgentView {
  readonly report: Report | undefined;
  ready(): { ready: boolean; reason: string };
  live(): { live: boolean; reason: string };
  readonly status: object;
  /** Told of each new report, so responses derived from the previous one are dropped at once. */
  onScan?(listener: (report: Report) => void): void;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const RESPONSE_CACHE_BYTES = 16 * 1024 * 1024;
const METRICS_REUSE_MS = 1_000;
const GZIP_MIN_BYTES = 1024;
/**
 * A response text longer than this is never built as one string, and only its gzip is
 * kept: at 5,000 images the report is 3 MiB of JSON, 0.6 MiB gzipped.
 */
const LARGE_TEXT_CHARS = 256 * 1024;

const errorSchema = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const finding = {
  type: 'object',
  additionalProperties: true,
  properties: {
    code: { type: 'string', enum: ALL_FINDING_CODES },
    severity: { type: 'string', enum: SEVERITIES },
    message: { type: 'string' },
    image: { type: ['string', 'null'] },
    containers: { type: 'array', items: { type: 'object', properties: { namespace: { type: ['string', 'null'] }, pod: { type: ['string', 'null'] }, container: { type: 'string' } } } },
    evidence: anyObject,
    remediation: { type: 'string' },
  },
  required: ['code', 'severity', 'message', 'containers', 'evidence', 'remediation'],
} as const;
const notReady = { 503: errorSchema };

type Doc = FastifySchema & { description?: string };

function listOf(name: string, items: object, description: string): Doc {
  return {
    description,
    response: {
      200: { type: 'object', properties: { node: { type: 'string' }, generatedAt: { type: 'string' }, [name]: { type: 'array', items } }, required: ['node', 'generatedAt', name] },
      ...notReady,
    },
  };
}

export interface AppOptions {
  readonly agent: AgentView;
  readonly metrics: Metrics;
  readonly version: string;
  /** Who may read `/v1/*` (api-auth.ts); absent = anyone (tests, benchmarks). */
  readonly auth?: ApiAuthorizer;
  /** Large uncompressed answers streamed at once (default MAX_LARGE_STREAMS). */
  readonly maxLargeStreams?: number;
}

/** Connections the API server keeps at once, and how long one request may take to arrive. */
export const MAX_CONNECTIONS = 256;
export const REQUEST_TIMEOUT_MS = 10_000;
/** Connections one non-loopback peer may hold at once. */
export const MAX_CONNECTIONS_PER_PEER = 32;
/** Large uncompressed answers streamed at once. */
export const MAX_LARGE_STREAMS = 16;
const LOOPBACK_PEERS = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** Routes anyone may read: probes, Prometheus and the API's own description (counts and schemas, no inventory). */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    // A slow or silent client is cut off; headers must arrive within 5 s.
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // Query strings checked and responses written without Ajv and fast-json-stringify (schema-compilers.ts).
    schemaController,
  });
  app.server.maxConnections = MAX_CONNECTIONS;
  // No peer holds more than its share of the connections (kubectl port-forward arrives on loopback, exempt).
  const perPeer = new Map<string, number>();
  app.server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress ?? '';
    if (LOOPBACK_PEERS.has(peer)) return;
    const n = (perPeer.get(peer) ?? 0) + 1;
    if (n > MAX_CONNECTIONS_PER_PEER) {
      socket.destroy();
      return;
    }
    perPeer.set(peer, n);
    socket.once('close', () => {
      const left = (perPeer.get(peer) ?? 1) - 1;
      if (left <= 0) perPeer.delete(peer);
      else perPeer.set(peer, left);
    });
  });
  app.server.headersTimeout = 5_000;
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
  const auth = opts.auth;
  // Access is decided on the route the router matched (percent-decoding and all), deny by
  // default: only the public routes are open; every other route, and any path that matches
  // none, needs the loopback peer or an authorised token. Request targets the router would
  // read differently from how they are written are refused before that.
  app.addHook('onRequest', async (req, reply) => {
    const bad = unacceptableTarget(req.raw.url);
    if (bad) return reply.code(400).send({ error: bad });
    if (!auth) return;
    const route = req.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    const d = await auth.authorize(req.socket.remoteAddress, req.headers);
    if (!d.ok) {
      if (d.status === 401) reply.header('www-authenticate', 'Bearer realm="tagdrift"');
      if (d.status === 503) reply.header('retry-after', '5');
      return reply.code(d.status).send({ error: d.reason });
    }
  });
  const routes: { method: string; url: string; schema: FastifySchema | undefined }[] = [];
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    if (methods.includes('GET')) routes.push({ method: 'get', url: r.url, schema: r.schema });
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    void reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((req, reply) => void reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json` }));

  const { agent, metrics } = opts;
  // Responses are derived from one report until the next scan: serialised once per
  // (report, query) and reused, within a byte budget, and dropped as soon as a new report
  // arrives. A large text is kept only gzipped (and written again for a client without
  // gzip). /metrics text is reused for a second, so a scrape storm costs one render per second.
  const responses = new Map<string, string>();
  const compressed = new Map<string, Buffer>();
  let responsesFor: Report | undefined;
  let responseBytes = 0;
  const forReport = (r: Report | undefined): void => {
    if (responsesFor !== r) {
      responses.clear();
      compressed.clear();
      responseBytes = 0;
      responsesFor = r;
    }
  };
  agent.onScan?.((r) => forReport(r));
  const keep = <T extends string | Buffer>(map: Map<string, T>, key: string, value: T): void => {
    if (!map.has(key) && responseBytes + value.length <= RESPONSE_CACHE_BYTES) {
      map.set(key, value);
      responseBytes += value.length;
    }
  };
  const acceptsGzip = (req: FastifyRequest): boolean => /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  /**
   * Sends the JSON of `build()` for this report: gzip (compressed once per report and key)
   * when the client accepts it and it is worth it. A small text is kept in both encodings;
   * a large one is never one string (json-pieces.ts): it is gzipped piece by piece and
   * only the gzip is kept, or streamed as it is written.
   */
  // Concurrent readers of a large answer share one preparation: the first gzips it, the others
  // wait for the same buffer. Uncompressed large answers are streamed, at most
  // MAX_LARGE_STREAMS at once (503 with Retry-After beyond), so readers cannot multiply memory.
  const gzipping = new Map<string, { report: Report; body: Promise<Buffer> }>();
  let largeStreams = 0;
  const maxLargeStreams = opts.maxLargeStreams ?? MAX_LARGE_STREAMS;
  const sendJson = async (req: FastifyRequest, reply: FastifyReply, key: string, r: Report, build: () => unknown): Promise<FastifyReply> => {
    forReport(r);
    reply.type(JSON_TYPE).header('vary', 'accept-encoding');
    const gzip = acceptsGzip(req);
    const gz = gzip ? compressed.get(key) : undefined;
    if (gz) return reply.header('content-encoding', 'gzip').send(gz);
    const preparing = gzip ? gzipping.get(key) : undefined;
    if (preparing && preparing.report === r) return reply.header('content-encoding', 'gzip').send(await preparing.body);
    const cachedText = responses.get(key);
    const pieces = cachedText === undefined ? jsonPieces(build(), LARGE_TEXT_CHARS) : [cachedText][Symbol.iterator]();
    const first = pieces.next();
    const second = pieces.next();
    if (second.done) {
      const text = first.done ? 'null' : first.value;
      if (cachedText === undefined) keep(responses, key, text);
      if (!gzip || text.length < GZIP_MIN_BYTES) return reply.serializer((x: unknown) => x as string).send(text);
      const body = gzipSync(text);
      keep(compressed, key, body);
      return reply.header('content-encoding', 'gzip').send(body);
    }
    const all = (function* (): Generator<string> {
      yield first.value as string;
      yield second.value;
      yield* pieces;
    })();
    if (!gzip) {
      if (largeStreams >= maxLargeStreams) {
        return reply.code(503).header('retry-after', '1').send({ error: `more than ${maxLargeStreams} large answers are being written: retry shortly (or ask with Accept-Encoding: gzip)` });
      }
      largeStreams += 1;
      reply.raw.once('close', () => (largeStreams -= 1));
      // One piece read ahead at a time: a slow reader holds one piece, not the whole answer.
      return reply.send(Readable.from(all, { highWaterMark: 1 }));
    }
    const body = gzipPieces(all);
    const entry = { report: r, body };
    gzipping.set(key, entry);
    try {
      const done = await body;
      // A new report may have arrived meanwhile: the answer goes out, but is kept only for its own report.
      if (responsesFor === r) keep(compressed, key, done);
      return reply.header('content-encoding', 'gzip').send(done);
    } finally {
      if (gzipping.get(key) === entry) gzipping.delete(key);
    }
  };
  let metricsText: { body: string; at: number; report: Report | undefined } | undefined;
  const withReport = (reply: { code: (n: number) => { send: (b: unknown) => unknown } }): Report | undefined => {
    const r = agent.report;
    if (!r) reply.code(503).send({ error: 'no scan has finished yet' });
    return r;
  };

  app.get('/', { schema: { description: 'The latest report as an HTML page for people (no script, strict Content-Security-Policy).' } as FastifySchema }, async (_req, reply) => {
    reply.header('content-security-policy', HTML_CSP).header('referrer-policy', 'no-referrer').type('text/html; charset=utf-8');
    const r = agent.report;
    if (!r) return reply.code(503).send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tagdrift</title></head><body><p>No scan has finished yet: reload in a few seconds.</p></body></html>\n');
    forReport(r);
    let page = responses.get('html');
    if (page === undefined) {
      page = renderHtml(r);
      keep(responses, 'html', page);
    }
    return reply.send(page);
  });

  app.get('/healthz', {
    schema: {
      description: 'Liveness: the process answers, and the runtime has answered within the liveness timeout (a restart re-opens its socket). Never depends on registries.',
      response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, 503: { type: 'object', properties: { status: { type: 'string' }, reason: { type: 'string' } } } },
    },
  }, async (_req, reply) => {
    const l = agent.live();
    if (l.live) return { status: 'ok' };
    return reply.code(503).send({ status: 'unhealthy', reason: l.reason });
  });

  app.get('/readyz', {
    schema: {
      description: 'Readiness: the first scan finished and the runtime answered in the latest scan.',
      response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, 503: { type: 'object', properties: { status: { type: 'string' }, reason: { type: 'string' } } } },
    },
  }, async (_req, reply) => {
    const r = agent.ready();
    if (r.ready) return { status: 'ready' };
    return reply.code(503).send({ status: 'not ready', reason: r.reason });
  });

  app.get('/v1/report', { schema: { description: 'The latest scan report (the same JSON as `tagdrift scan -o json`).', response: { 200: anyObject, ...notReady } } }, async (req, reply) => {
    const r = withReport(reply);
    return r ? sendJson(req, reply, 'report', r, () => r) : reply;
  });

  app.get('/v1/findings', {
    schema: {
      description: 'Findings of the latest scan, optionally filtered.',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          code: { type: 'string', enum: ALL_FINDING_CODES },
          severity: { type: 'string', enum: SEVERITIES },
          namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
        },
      },
      response: { 200: { type: 'object', properties: { node: { type: 'string' }, generatedAt: { type: 'string' }, findings: { type: 'array', items: finding } } }, ...notReady },
    },
  }, async (req, reply) => {
    const r = withReport(reply);
    if (!r) return reply;
    const q = req.query as { code?: string; severity?: string; namespace?: string };
    const key = `findings|${q.code ?? ''}|${q.severity ?? ''}|${q.namespace ?? ''}`;
    return sendJson(req, reply, key, r, () => ({
      node: r.node,
      generatedAt: r.generatedAt,
      findings: r.findings.filter(
        (f) => (!q.code || f.code === q.code) && (!q.severity || f.severity === q.severity) && (!q.namespace || f.containers.some((c) => c.namespace === q.namespace)),
      ),
    }));
  });

  app.get('/v1/images', { schema: listOf('images', anyObject, 'Images cached on the node.') }, async (req, reply) => {
    const r = withReport(reply);
    return r ? sendJson(req, reply, 'images', r, () => ({ node: r.node, generatedAt: r.generatedAt, images: r.images })) : reply;
  });

  app.get('/v1/containers', { schema: listOf('containers', anyObject, 'Containers with what their pod asked for and the digest they run.') }, async (req, reply) => {
    const r = withReport(reply);
    return r ? sendJson(req, reply, 'containers', r, () => ({ node: r.node, generatedAt: r.generatedAt, containers: r.containers })) : reply;
  });

  app.get('/v1/registries', {
    schema: {
      description: "How this node resolves tags (per-registry plan) and what each checked tag points to now.",
      response: { 200: { type: 'object', additionalProperties: true, properties: { node: { type: 'string' }, generatedAt: { type: 'string' }, plan: { ...anyObject, nullable: true }, tags: { type: 'array', items: anyObject } } }, ...notReady },
    },
  }, async (_req, reply) => {
    const r = withReport(reply);
    return r ? { node: r.node, generatedAt: r.generatedAt, plan: r.registries ?? null, tags: r.registryTruth ?? [] } : reply;
  });

  app.get('/metrics', { schema: { description: 'Prometheus metrics (text exposition format), served from the latest scan.' } as Doc }, async (_req, reply) => {
    const now = Date.now();
    if (!metricsText || now - metricsText.at >= METRICS_REUSE_MS || metricsText.report !== agent.report) {
      metricsText = { body: await metrics.render(), at: now, report: agent.report };
    }
    return reply.type(metrics.contentType).send(metricsText.body);
  });

  app.get('/v1/codes', { schema: { description: 'The finding-code catalogue.', response: { 200: anyObject } } }, async () => FINDING_CODES);

  app.get('/openapi.json', { schema: { description: 'This document.' } as Doc }, async () => openApi(routes, opts.version));
  return app;
}

function openApi(routes: readonly { method: string; url: string; schema: FastifySchema | undefined }[], version: string): object {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const s = (r.schema ?? {}) as { description?: string; querystring?: { properties?: Record<string, object> }; response?: Record<string, object> };
    const parameters = Object.entries(s.querystring?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema }));
    const responses: Record<string, object> = {};
    for (const [code, schema] of Object.entries(s.response ?? { 200: {} })) {
      responses[code] = { description: code === '200' ? 'OK' : code === '503' ? 'not ready / no scan yet' : code, content: { 'application/json': { schema } } };
    }
    if (parameters.length > 0) responses['400'] = { description: 'bad query: says which parameter and what is allowed', content: { 'application/json': { schema: errorSchema } } };
    paths[r.url] = { ...(paths[r.url] ?? {}), [r.method]: { ...(s.description ? { description: s.description } : {}), parameters, responses } };
  }
  return { openapi: '3.0.3', info: { title: 'tagdrift agent API', version }, paths };
}
