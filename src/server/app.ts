/**
 * The HTTP API: a fastify app factory (tested with inject()). Read-only. This file holds
 * the server's limits and its access decision; the routes are in routes.ts, the reuse of
 * answers between scans in response-cache.ts, the schemas and /openapi.json in openapi.ts.
 */
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { agentError, type AgentErrorCode } from '../domain/agent-api.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ApiAuthorizer } from './api-auth.js';
import { openApiCollector } from './openapi.js';
import { unacceptableTarget } from './request-target.js';
import { ResponseCache } from './response-cache.js';
import { registerRoutes, type AgentView } from './routes.js';
import { schemaController } from './schema-compilers.js';

export type { AgentView } from './routes.js';

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

const AUTH_CODES: Record<401 | 403 | 503, AgentErrorCode> = { 401: 'unauthenticated', 403: 'forbidden', 503: 'auth-unavailable' };

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
  limitConnections(app);
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
    if (bad) return reply.code(400).send(agentError('bad-request', bad));
    if (!auth) return;
    const route = req.routeOptions.url;
    if (route !== undefined && PUBLIC_ROUTES.has(route)) return;
    const d = await auth.authorize(req.socket.remoteAddress, req.headers);
    if (!d.ok) {
      if (d.status === 401) reply.header('www-authenticate', 'Bearer realm="tagdrift"');
      if (d.status === 503) reply.header('retry-after', '5');
      return reply.code(d.status).send(agentError(AUTH_CODES[d.status], d.reason));
    }
  });
  const doc = openApiCollector(app, opts.version);
  app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    void reply.code(status).send(status === 500 ? agentError('internal', 'internal error') : agentError(status === 404 ? 'not-found' : 'bad-request', err.message));
  });
  app.setNotFoundHandler((req, reply) => void reply.code(404).send(agentError('not-found', `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json`)));

  const cache = new ResponseCache(opts.maxLargeStreams ?? MAX_LARGE_STREAMS);
  opts.agent.onScan?.((r) => cache.forReport(r));
  registerRoutes(app, { agent: opts.agent, metrics: opts.metrics, cache, openApi: () => doc.document() });
  return app;
}

/** No peer holds more than its share of the connections (kubectl port-forward arrives on loopback, exempt). */
function limitConnections(app: FastifyInstance): void {
  app.server.maxConnections = MAX_CONNECTIONS;
  app.server.headersTimeout = 5_000;
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
}
