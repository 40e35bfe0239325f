/**
 * The API's response schemas and the OpenAPI document built from the routes as registered:
 * the schemas a route declares are the ones /openapi.json publishes.
 */
import type { FastifyInstance, FastifySchema } from 'fastify';
import { ALL_FINDING_CODES, SEVERITIES } from '../domain/finding-codes.js';
import { AGENT_ERROR_SCHEMA } from '../domain/agent-api.js';

export const errorSchema = AGENT_ERROR_SCHEMA;
export const anyObject = { type: 'object', additionalProperties: true } as const;
export const findingSchema = {
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
export const notReady = { 503: errorSchema };
export const probeResponses = {
  200: { type: 'object', properties: { status: { type: 'string' } } },
  503: { type: 'object', properties: { status: { type: 'string' }, reason: { type: 'string' } } },
} as const;

export type Doc = FastifySchema & { description?: string };

/** A route answering `{node, generatedAt, <name>: [...]}`. */
export function listOf(name: string, items: object, description: string): Doc {
  return {
    description,
    response: {
      200: { type: 'object', properties: { node: { type: 'string' }, generatedAt: { type: 'string' }, [name]: { type: 'array', items } }, required: ['node', 'generatedAt', name] },
      ...notReady,
    },
  };
}

interface RouteDoc {
  readonly method: string;
  readonly url: string;
  readonly schema: FastifySchema | undefined;
}

/** Collects the GET routes as they are registered; `document()` is the OpenAPI text of them. */
export function openApiCollector(app: FastifyInstance, version: string): { document(): object } {
  const routes: RouteDoc[] = [];
  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    if (methods.includes('GET')) routes.push({ method: 'get', url: r.url, schema: r.schema });
  });
  return { document: () => openApi(routes, version) };
}

function openApi(routes: readonly RouteDoc[], version: string): object {
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
