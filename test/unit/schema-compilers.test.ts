import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { compileQueryValidator, schemaController } from '../../src/server/schema-compilers.js';

const query = {
  type: 'object',
  additionalProperties: false,
  required: ['node'],
  properties: {
    node: { type: 'string' },
    severity: { type: 'string', enum: ['critical', 'warning'] },
    namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$' },
  },
};

describe('query-string validation without Ajv', () => {
  const check = compileQueryValidator(query, 'GET /x querystring');
  const error = (q: object): string | undefined => {
    const r = check(q);
    return 'error' in r ? r.error.message : undefined;
  };

  it('accepts what the schema allows and names every problem otherwise', () => {
    expect(error({ node: 'a', severity: 'warning', namespace: 'kube-system' })).toBeUndefined();
    expect(error({ node: 'a' })).toBeUndefined();
    expect(error({ severity: 'warning' })).toBe('node is required');
    expect(error({ node: 'a', severity: 'high' })).toBe('severity must be one of: critical, warning');
    expect(error({ node: 'a', namespace: 'Not_Valid' })).toBe('namespace must match pattern "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"');
    expect(error({ node: 'a', sort: 'asc' })).toBe('unknown query parameter "sort"');
    expect(error({ node: 'a', severity: ['critical', 'warning'] })).toBe('severity must be given once, as a string');
    expect(error({ node: 'a', severity: 'high', sort: 'asc' })).toBe('severity must be one of: critical, warning; unknown query parameter "sort"');
  });

  it('refuses, when the route is registered, a schema it cannot check', async () => {
    expect(() => compileQueryValidator({ ...query, properties: { limit: { type: 'integer', minimum: 1 } } }, 'GET /y querystring')).toThrow(/GET \/y querystring: keyword "minimum" on "limit" is not supported/);
    expect(() => compileQueryValidator({ type: 'object', anyOf: [] }, 'GET /z querystring')).toThrow(/keyword "anyOf"/);
    const app = Fastify({ schemaController });
    app.post('/body', { schema: { body: { type: 'object' } } }, async () => ({}));
    await expect(app.ready()).rejects.toThrow(/only query strings are validated/);
  });

  it('answers a bad query with 400 and the message, and serialises responses with JSON.stringify', async () => {
    const app = Fastify({ schemaController });
    app.setErrorHandler((err: { statusCode?: number; message: string }, _req, reply) => void reply.code(err.statusCode ?? 500).send({ error: err.message }));
    app.get('/x', { schema: { querystring: query, response: { 200: { type: 'object', properties: { a: { type: 'string' } } } } } }, async () => ({ a: 'x', extra: 1 }));
    const bad = await app.inject('/x?node=a&severity=high');
    expect([bad.statusCode, bad.json()]).toEqual([400, { error: 'severity must be one of: critical, warning' }]);
    expect((await app.inject('/x?node=a')).body).toBe('{"a":"x","extra":1}');
    await app.close();
  });

  it('the agent builds its app without loading Ajv or the fast-json-stringify compiler (its error serialiser is two small files)', () => {
    const script = `
      import { createRequire } from 'node:module';
      const { buildApp } = await import(${JSON.stringify(fileURLToPath(new URL('../../src/server/app.ts', import.meta.url)))});
      const { Metrics } = await import(${JSON.stringify(fileURLToPath(new URL('../../src/metrics/metrics.ts', import.meta.url)))});
      const view = { report: undefined, status: {}, ready: () => ({ ready: false, reason: 'x' }), live: () => ({ live: true, reason: 'ok' }) };
      const app = await buildApp({ agent: view, metrics: new Metrics({ version: 't' }), version: 't' });
      await app.ready();
      const bad = await app.inject('/v1/findings?severity=high');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => /node_modules\\/(ajv\\/|ajv-formats\\/|@fastify\\/ajv-compiler\\/|fast-json-stringify\\/index\\.js)/.test(p));
      console.log(JSON.stringify({ status: bad.statusCode, loaded }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ status: 400, loaded: [] });
  });
});
