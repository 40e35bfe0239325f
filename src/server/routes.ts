/**
 * The API's routes: every answer is derived from the agent's latest report (through the
 * response cache) or the metrics registry, so a hung runtime or registry never slows one.
 */
import type { FastifyInstance, FastifyReply, FastifySchema } from 'fastify';
import { ALL_FINDING_CODES, FINDING_CODES, SEVERITIES } from '../domain/finding-codes.js';
import type { Report } from '../domain/report.js';
import { agentError } from '../domain/agent-api.js';
import type { Metrics } from '../metrics/metrics.js';
import { HTML_CSP, renderHtml } from '../render/html.js';
import { anyObject, findingSchema, listOf, notReady, probeResponses, type Doc } from './openapi.js';
import type { ResponseCache } from './response-cache.js';

export interface AgentView {
  readonly report: Report | undefined;
  ready(): { ready: boolean; reason: string };
  live(): { live: boolean; reason: string };
  readonly status: object;
  /** Told of each new report, so responses derived from the previous one are dropped at once. */
  onScan?(listener: (report: Report) => void): void;
}

const METRICS_REUSE_MS = 1_000;
const NO_SCAN_PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tagdrift</title></head><body><p>No scan has finished yet: reload in a few seconds.</p></body></html>\n';

export function registerRoutes(app: FastifyInstance, deps: { agent: AgentView; metrics: Metrics; cache: ResponseCache; openApi: () => object }): void {
  const { agent, metrics, cache } = deps;
  const withReport = (reply: FastifyReply): Report | undefined => {
    const r = agent.report;
    if (!r) void reply.code(503).send(agentError('no-report', 'no scan has finished yet'));
    return r;
  };

  app.get('/', { schema: { description: 'The latest report as an HTML page for people (no script, strict Content-Security-Policy).' } as FastifySchema }, async (_req, reply) => {
    reply.header('content-security-policy', HTML_CSP).header('referrer-policy', 'no-referrer').type('text/html; charset=utf-8');
    const r = agent.report;
    if (!r) return reply.code(503).send(NO_SCAN_PAGE);
    return reply.send(cache.text(r, 'html', () => renderHtml(r)));
  });

  app.get('/healthz', {
    schema: {
      description: 'Liveness: the process answers, and the runtime has answered within the liveness timeout (a restart re-opens its socket). Never depends on registries.',
      response: probeResponses,
    },
  }, async (_req, reply) => {
    const l = agent.live();
    if (l.live) return { status: 'ok' };
    return reply.code(503).send({ status: 'unhealthy', reason: l.reason });
  });

  app.get('/readyz', {
    schema: { description: 'Readiness: the first scan finished and the runtime answered in the latest scan.', response: probeResponses },
  }, async (_req, reply) => {
    const r = agent.ready();
    if (r.ready) return { status: 'ready' };
    return reply.code(503).send({ status: 'not ready', reason: r.reason });
  });

  app.get('/v1/report', { schema: { description: 'The latest scan report (the same JSON as `tagdrift scan -o json`).', response: { 200: anyObject, ...notReady } } }, async (req, reply) => {
    const r = withReport(reply);
    return r ? cache.sendJson(req, reply, 'report', r, () => r) : reply;
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
      response: { 200: { type: 'object', properties: { node: { type: 'string' }, generatedAt: { type: 'string' }, findings: { type: 'array', items: findingSchema } } }, ...notReady },
    },
  }, async (req, reply) => {
    const r = withReport(reply);
    if (!r) return reply;
    const q = req.query as { code?: string; severity?: string; namespace?: string };
    const key = `findings|${q.code ?? ''}|${q.severity ?? ''}|${q.namespace ?? ''}`;
    return cache.sendJson(req, reply, key, r, () => ({
      node: r.node,
      generatedAt: r.generatedAt,
      findings: r.findings.filter(
        (f) => (!q.code || f.code === q.code) && (!q.severity || f.severity === q.severity) && (!q.namespace || f.containers.some((c) => c.namespace === q.namespace)),
      ),
    }));
  });

  app.get('/v1/images', { schema: listOf('images', anyObject, 'Images cached on the node.') }, async (req, reply) => {
    const r = withReport(reply);
    return r ? cache.sendJson(req, reply, 'images', r, () => ({ node: r.node, generatedAt: r.generatedAt, images: r.images })) : reply;
  });

  app.get('/v1/containers', { schema: listOf('containers', anyObject, 'Containers with what their pod asked for and the digest they run.') }, async (req, reply) => {
    const r = withReport(reply);
    return r ? cache.sendJson(req, reply, 'containers', r, () => ({ node: r.node, generatedAt: r.generatedAt, containers: r.containers })) : reply;
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

  // /metrics text is reused for a second, so a scrape storm costs one render per second.
  let metricsText: { body: string; at: number; report: Report | undefined } | undefined;
  app.get('/metrics', { schema: { description: 'Prometheus metrics (text exposition format), served from the latest scan.' } as Doc }, async (_req, reply) => {
    const now = Date.now();
    if (!metricsText || now - metricsText.at >= METRICS_REUSE_MS || metricsText.report !== agent.report) {
      metricsText = { body: await metrics.render(), at: now, report: agent.report };
    }
    return reply.type(metrics.contentType).send(metricsText.body);
  });

  app.get('/v1/codes', { schema: { description: 'The finding-code catalogue.', response: { 200: anyObject } } }, async () => FINDING_CODES);

  app.get('/openapi.json', { schema: { description: 'This document.' } as Doc }, async () => deps.openApi());
}
