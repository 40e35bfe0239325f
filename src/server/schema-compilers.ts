/**
 * Fastify's schema compilers for the agent's and the resolver's HTTP APIs, in place of
 * its default ones (Ajv for validation, fast-json-stringify for responses).
 *
 * The APIs validate one thing: the query string of `/v1/findings` (a few string
 * parameters, each an enum or a pattern). Loading Ajv and fast-json-stringify for that
 * costs ~4 MiB of RSS on every node (docs/decisions.md, BENCHMARKS.md image-rss), so
 * queries are checked here and responses are written with JSON.stringify. The response
 * schemas stay: they are the OpenAPI document.
 *
 * Only the subset of JSON Schema the routes use is accepted, and a schema outside it is
 * refused when the route is registered, so a route can never be served unchecked.
 */
import type { FastifyServerOptions } from 'fastify';

interface StringParam {
  readonly type: 'string';
  readonly enum?: readonly string[];
  readonly pattern?: string;
}

const OBJECT_KEYS = new Set(['type', 'additionalProperties', 'properties', 'required']);
const PARAM_KEYS = new Set(['type', 'enum', 'pattern', 'description']);

export class SchemaNotSupported extends Error {}

/** A query-string schema: an object of optional or required string parameters, nothing else. */
export function compileQueryValidator(schema: Record<string, unknown>, where: string): (data: unknown) => { value: unknown } | { error: Error } {
  const unsupported = (what: string): never => {
    throw new SchemaNotSupported(`${where}: ${what} is not supported by src/server/schema-compilers.ts`);
  };
  for (const k of Object.keys(schema)) if (!OBJECT_KEYS.has(k)) unsupported(`keyword "${k}"`);
  if (schema['type'] !== 'object') unsupported(`type ${JSON.stringify(schema['type'])}`);
  const closed = schema['additionalProperties'] === false;
  if (schema['additionalProperties'] !== undefined && typeof schema['additionalProperties'] !== 'boolean') unsupported('a schema for additionalProperties');
  const params = new Map<string, { readonly spec: StringParam; readonly re: RegExp | undefined }>();
  for (const [name, raw] of Object.entries((schema['properties'] ?? {}) as Record<string, Record<string, unknown>>)) {
    for (const k of Object.keys(raw)) if (!PARAM_KEYS.has(k)) unsupported(`keyword "${k}" on "${name}"`);
    if (raw['type'] !== 'string') unsupported(`type ${JSON.stringify(raw['type'])} on "${name}"`);
    const spec = raw as unknown as StringParam;
    params.set(name, { spec, re: spec.pattern === undefined ? undefined : new RegExp(spec.pattern, 'u') });
  }
  const required = (schema['required'] ?? []) as string[];
  return (data: unknown) => {
    const q = (data ?? {}) as Record<string, unknown>;
    const problems: string[] = [];
    for (const name of required) if (q[name] === undefined) problems.push(`${name} is required`);
    for (const [name, value] of Object.entries(q)) {
      const p = params.get(name);
      if (!p) {
        if (closed) problems.push(`unknown query parameter "${name}"`);
        continue;
      }
      if (typeof value !== 'string') problems.push(`${name} must be given once, as a string`);
      else if (p.spec.enum && !p.spec.enum.includes(value)) problems.push(`${name} must be one of: ${p.spec.enum.join(', ')}`);
      else if (p.re && !p.re.test(value)) problems.push(`${name} must match pattern "${p.spec.pattern}"`);
    }
    return problems.length === 0 ? { value: q } : { error: Object.assign(new Error(problems.join('; ')), { statusCode: 400 }) };
  };
}

/** For `Fastify({ schemaController })`: query strings checked as above, every other part refused, responses by JSON.stringify. */
export const schemaController: NonNullable<FastifyServerOptions['schemaController']> = {
  compilersFactory: {
    buildValidator: () => ({ schema, httpPart, url, method }: { schema: Record<string, unknown>; httpPart?: string; url: string; method: string }) => {
      const where = `${method} ${url} ${httpPart ?? 'schema'}`;
      if (httpPart !== 'querystring') throw new SchemaNotSupported(`${where}: only query strings are validated (src/server/schema-compilers.ts)`);
      return compileQueryValidator(schema, where);
    },
    buildSerializer: () => () => (data: unknown) => JSON.stringify(data),
  },
} as unknown as NonNullable<FastifyServerOptions['schemaController']>;
