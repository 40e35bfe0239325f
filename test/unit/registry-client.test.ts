import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RegistryClient, apiRoot, needsNamespace } from '../../src/adapters/registry/client.js';
import { authKeyHost, parseChallenge, parseDockerConfig, parseRateLimitRemaining, parseRetryAfter } from '../../src/adapters/registry/auth.js';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { makeImage, makeIndex, pushImage, pushManifest } from '../helpers/oci.js';

let reg: FakeRegistry;
let img: ReturnType<typeof makeImage>;
const clients: RegistryClient[] = [];
function client(o: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const c = new RegistryClient({ timeoutMs: 1_500, connectTimeoutMs: 500, ...o });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  reg = await new FakeRegistry().start();
  img = makeImage({ version: '1.0.0' });
  await pushImage(reg.url, 'team/app', '1.0', img);
  await pushImage(reg.url, 'team/app', 'faulty', img);
  reg.requests.length = 0;
});
afterAll(async () => reg.stop());
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  reg.requests.length = 0;
});

describe('registry client: the question containerd asks', () => {
  it('sends HEAD with both manifest and both index types in Accept, and no GET', async () => {
    const r = await client().resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0');
    expect(r).toEqual({ ok: true, digest: img.manifest.digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', confirmedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), since: { digest: img.manifest.digest, at: expect.any(String), via: 'answer', moved: false } });
    const [req, ...rest] = reg.manifestRequests();
    expect(rest).toEqual([]);
    expect(req!.method).toBe('HEAD');
    for (const t of [
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.oci.image.index.v1+json',
    ]) expect(req!.accept).toContain(t);
  });

  it('adds ?ns=<registry> when asking a host other than the reference registry, as containerd does for mirrors', async () => {
    await client().resolveTag({ url: reg.url }, 'registry.example:5000', 'team/app', '1.0');
    expect(reg.manifestRequests()[0]!.query).toEqual({ ns: 'registry.example:5000' });
    reg.requests.length = 0;
    await client().resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0');
    expect(reg.manifestRequests()[0]!.query).toEqual({});
    expect(needsNamespace('registry-1.docker.io', 'docker.io')).toBe(false);
    expect(apiRoot('https://m.example/custom/path')).toBe('https://m.example/custom/path');
    expect(apiRoot('https://m.example')).toBe('https://m.example/v2');
  });

  it('caches answers and shares one request among concurrent identical questions', async () => {
    const c = client();
    const answers = await Promise.all(Array.from({ length: 20 }, () => c.resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0')));
    expect(new Set(answers.map((a) => (a.ok ? a.digest : a.kind)))).toEqual(new Set([img.manifest.digest]));
    await c.resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0');
    expect(reg.manifestRequests()).toHaveLength(1);
  });

  it('falls back to GET and hashes the body when HEAD has no Docker-Content-Digest', async () => {
    reg.setFault('team/app', '1.0', { kind: 'no-digest-header' });
    try {
      const r = await client().resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0');
      expect(r).toMatchObject({ ok: true, digest: img.manifest.digest });
      expect(reg.manifestRequests().map((q) => q.method)).toEqual(['HEAD', 'GET']);
    } finally {
      reg.setFault('team/app', '1.0', undefined);
    }
  });

  it('a connection reset (a kept-alive socket closed by the server) is retried once on a new connection, not counted as down', async () => {
    reg.setFault('team/app', '1.0', { kind: 'reset-once' });
    const seen: string[] = [];
    const c = client({ onRequest: (host, method, code) => seen.push(`${host}|${method}|${code}`) });
    expect(await c.resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0')).toMatchObject({ ok: true, digest: img.manifest.digest });
    expect(seen).toEqual([`${reg.host}|HEAD|reset`, `${reg.host}|HEAD|200`]);
    // The host was not put in backoff: the next question is asked.
    expect(await c.resolveTag({ url: reg.url }, reg.host, 'team/app', 'faulty')).toMatchObject({ ok: true });
  });

  it('retries a HEAD refused with 405 as GET', async () => {
    reg.setFault('team/app', '1.0', { kind: 'no-head' });
    try {
      expect(await client().resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0')).toMatchObject({ ok: true, digest: img.manifest.digest });
    } finally {
      reg.setFault('team/app', '1.0', undefined);
    }
  });

  it('reads Docker Hub ratelimit-remaining from the answer', async () => {
    reg.extraHeaders = { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' };
    try {
      const seen: string[] = [];
      const c = client({ onRequest: (host, method, code) => seen.push(`${host}|${method}|${code}`) });
      await c.resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0');
      expect(c.stats().rateLimitRemaining.get(reg.host)).toBe(76);
      expect(seen).toEqual([`${reg.host}|HEAD|200`]);
    } finally {
      reg.extraHeaders = {};
    }
  });

  it('a multi-arch tag resolves to the index digest, with no GET', async () => {
    const amd = makeImage({ version: '9' }, 'amd64');
    await pushImage(reg.url, 'team/multi', 'child', amd);
    const index = makeIndex([{ image: amd, arch: 'amd64' }]);
    await pushManifest(reg.url, 'team/multi', '9', index);
    reg.requests.length = 0;
    expect(await client().resolveTag({ url: reg.url }, reg.host, 'team/multi', '9')).toMatchObject({ ok: true, digest: index.digest });
    expect(reg.manifestRequests('GET')).toEqual([]);
  });
});

describe('registry client: faults are classified, never fresh', () => {
  const cases: [string, Parameters<FakeRegistry['setFault']>[2], string][] = [
    ['404', { kind: 'status', status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}' }, 'not-found'],
    ['401 without a challenge', { kind: 'status', status: 401 }, 'auth'],
    ['401 with a malformed challenge', { kind: 'status', status: 401, headers: { 'www-authenticate': 'Bearer realm=' } }, 'auth'],
    ['403', { kind: 'status', status: 403 }, 'auth'],
    ['429', { kind: 'status', status: 429, headers: { 'retry-after': '30' } }, 'rate-limited'],
    ['500', { kind: 'status', status: 500, body: '<html>oops</html>' }, 'server-error'],
    ['503', { kind: 'status', status: 503 }, 'server-error'],
    ['an HTML page with 200', { kind: 'html' }, 'invalid-response'],
    ['a digest header that does not match the body', { kind: 'wrong-digest-header' }, 'invalid-response'],
    ['an oversized manifest', { kind: 'oversized', bytes: 5 * 1024 * 1024 }, 'invalid-response'],
    ['a redirect loop', { kind: 'redirect-loop' }, 'invalid-response'],
    ['a 418', { kind: 'status', status: 418 }, 'invalid-response'],
  ];
  for (const [what, fault, kind] of cases) {
    it(`${what} → ${kind}`, async () => {
      reg.setFault('team/app', 'faulty', fault);
      try {
        const r = await client().resolveTag({ url: reg.url }, reg.host, 'team/app', 'faulty');
        expect(r).toMatchObject({ ok: false, kind });
      } finally {
        reg.setFault('team/app', 'faulty', undefined);
      }
    });
  }

  it('an error body is never echoed: only the registry error code is kept', async () => {
    reg.setFault('team/app', 'faulty', { kind: 'status', status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"token canary-body-3a1f leaked","detail":"canary-body-3a1f"}]}' });
    try {
      const r = await client().resolveTag({ url: reg.url }, reg.host, 'team/app', 'faulty');
      expect(r).toMatchObject({ ok: false, kind: 'server-error', message: expect.stringMatching(new RegExp(`^${reg.host}: HTTP 500( UNKNOWN)?$`)) });
      expect(JSON.stringify(r)).not.toContain('canary');
    } finally {
      reg.setFault('team/app', 'faulty', undefined);
    }
  });

  it('a registry that never answers times out as unreachable within the total timeout', async () => {
    reg.setFault('team/app', 'hang', { kind: 'hang' });
    try {
      const started = Date.now();
      const r = await client({ timeoutMs: 400 }).resolveTag({ url: reg.url }, reg.host, 'team/app', 'hang');
      expect(r).toMatchObject({ ok: false, kind: 'unreachable' });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      reg.setFault('team/app', 'hang', undefined);
    }
  });

  it('a listener that accepts and never speaks HTTP is unreachable; a closed port is unreachable', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const c = client({ timeoutMs: 300 });
      expect(await c.resolveTag({ url: `http://127.0.0.1:${port}` }, 'r.example', 'a', 'b')).toMatchObject({ ok: false, kind: 'unreachable' });
    } finally {
      silent.close();
    }
    expect(await client().resolveTag({ url: `http://127.0.0.1:${port}` }, 'r.example', 'a', 'b')).toMatchObject({ ok: false, kind: 'unreachable' });
  });

  it('after a 429 with Retry-After the host is not asked again until it passes; other hosts are unaffected', async () => {
    let now = 1_000_000;
    const other = await new FakeRegistry().start();
    await pushImage(other.url, 'team/app', '1.0', img);
    try {
      reg.setFault('team/app', '1.0', { kind: 'status', status: 429, headers: { 'retry-after': '120' } });
      const c = client({ now: () => now });
      expect(await c.resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0')).toMatchObject({ ok: false, kind: 'rate-limited' });
      const before = reg.manifestRequests().length;
      expect(await c.resolveTag({ url: reg.url }, reg.host, 'team/app', '2.0')).toMatchObject({ ok: false, kind: 'rate-limited', message: expect.stringContaining('backing off') });
      expect(reg.manifestRequests()).toHaveLength(before);
      expect(await c.resolveTag({ url: other.url }, other.host, 'team/app', '1.0')).toMatchObject({ ok: true });
      reg.setFault('team/app', '1.0', undefined);
      now += 121_000;
      expect(await c.resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0')).toMatchObject({ ok: true });
    } finally {
      reg.setFault('team/app', '1.0', undefined);
      await other.stop();
    }
  });

  it('a black-hole host does not slow checks against another host', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const c = client({ timeoutMs: 1_500, concurrency: 4, perHostConcurrency: 2 });
      const hole = Array.from({ length: 10 }, (_, i) => c.resolveTag({ url: `http://127.0.0.1:${port}` }, 'hole.example', 'a', `t${i}`));
      const started = Date.now();
      const good = await Promise.all(Array.from({ length: 5 }, () => c.resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0')));
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(good.every((g) => g.ok)).toBe(true);
      const holes = await Promise.all(hole);
      expect(holes.every((h) => !h.ok && h.kind === 'unreachable')).toBe(true);
    } finally {
      silent.close();
    }
  });
});

describe('registry client: authentication', () => {
  it('anonymous access to a token-protected registry is an auth failure', async () => {
    const secured = await new FakeRegistry().start();
    secured.requireToken('robot', 'canary-password-7c1e');
    try {
      const r = await client().resolveTag({ url: secured.url }, secured.host, 'team/app', '1.0');
      expect(r).toMatchObject({ ok: false, kind: 'auth' });
      expect(JSON.stringify(r)).not.toContain('canary');
    } finally {
      await secured.stop();
    }
  });

  it('follows the Bearer challenge with basic credentials from config.json, then reuses the token', async () => {
    const secured = await new FakeRegistry().start();
    secured.requireToken('robot', 'canary-password-7c1e');
    try {
      const token = secured['auth']!.token;
      await pushImage(secured.url, 'team/app', '1.0', img, { authorization: `Bearer ${token}` });
      secured.requests.length = 0;
      const creds = parseDockerConfig(JSON.stringify({ auths: { [`http://${secured.host}/v2/`]: { auth: Buffer.from('robot:canary-password-7c1e').toString('base64') } } }), 'config.json');
      const c = client({ credentials: creds });
      expect(await c.resolveTag({ url: secured.url }, secured.host, 'team/app', '1.0')).toMatchObject({ ok: true, digest: img.manifest.digest });
      await pushImage(secured.url, 'team/app', '1.1', img, { authorization: `Bearer ${token}` });
      expect(await c.resolveTag({ url: secured.url }, secured.host, 'team/app', '1.1')).toMatchObject({ ok: true });
      // First question: 401, token, retry. Second: the token straight away.
      expect(secured.requests.filter((r) => r.path === '/token')).toHaveLength(1);
      expect(secured.manifestRequests('HEAD').map((r) => r.authorization?.split(' ')[0] ?? 'none')).toEqual(['none', 'Bearer', 'Bearer']);
    } finally {
      await secured.stop();
    }
  });

  it('wrong credentials are an auth failure that names no secret', async () => {
    const secured = await new FakeRegistry().start();
    secured.requireToken('robot', 'right');
    try {
      const creds = parseDockerConfig(JSON.stringify({ auths: { [secured.host]: { username: 'robot', password: 'canary-wrong-3f9a' } } }), 'config.json');
      const r = await client({ credentials: creds }).resolveTag({ url: secured.url }, secured.host, 'team/app', '1.0');
      expect(r).toMatchObject({ ok: false, kind: 'auth' });
      expect(JSON.stringify(r)).not.toMatch(/canary|robot/);
    } finally {
      await secured.stop();
    }
  });

  it('sends hosts.toml headers to the endpoint', async () => {
    await client().resolveTag({ url: reg.url, headers: { 'x-mirror-key': 'v' } }, reg.host, 'team/app', '1.0');
    expect(reg.manifestRequests()[0]!.headers['x-mirror-key']).toBe('v');
  });
});

describe('auth parsers', () => {
  it('parses Docker Hub and distribution challenges', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"')).toEqual({
      scheme: 'bearer', realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull',
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic' });
    for (const bad of ['', 'Bearer', 'Bearer realm=', 'Bearer realm="ftp://x"', 'Negotiate abc', 'Bearer realm="https://a" junk', 'Bearer realm="https://a",,']) {
      expect(parseChallenge(bad)).toBeUndefined();
    }
  });

  it('Retry-After: seconds, HTTP-date, capped, junk ignored', () => {
    const now = new Date('2026-11-23T00:00:00Z');
    expect(parseRetryAfter('30', now, 900)).toBe(30);
    expect(parseRetryAfter('99999', now, 900)).toBe(900);
    expect(parseRetryAfter('Mon, 23 Nov 2026 00:01:00 GMT', now, 900)).toBe(60);
    expect(parseRetryAfter('Sun, 22 Nov 2026 00:01:00 GMT', now, 900)).toBe(0);
    expect(parseRetryAfter('soon', now, 900)).toBeUndefined();
    expect(parseRetryAfter('-5', now, 900)).toBeUndefined();
    expect(parseRateLimitRemaining('76;w=21600')).toBe(76);
    expect(parseRateLimitRemaining('x')).toBeUndefined();
  });

  it('config.json hosts are normalised the way docker writes them', () => {
    expect(authKeyHost('https://index.docker.io/v1/')).toBe('docker.io');
    expect(authKeyHost('ghcr.io')).toBe('ghcr.io');
    expect(authKeyHost('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
    expect(() => parseDockerConfig('{', 'f.json')).toThrow('f.json: not valid JSON');
    expect(() => parseDockerConfig('{"auths":{"r.io":{"auth":"bm9jb2xvbg=="}}}', 'f.json')).toThrow(/not base64 user:password/);
    try {
      parseDockerConfig('{"auths":{"r.io":{"auth":"canary-secret-value"}}}', 'f.json');
    } catch (e) {
      expect((e as Error).message).not.toContain('canary');
    }
  });

  it('property: the parsers never throw and stay bounded on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const c = parseChallenge(s);
        if (c?.scheme === 'bearer') expect(() => new URL(c.realm!)).not.toThrow();
        const r = parseRetryAfter(s, new Date(0), 900);
        if (r !== undefined) expect(r).toBeGreaterThanOrEqual(0), expect(r).toBeLessThanOrEqual(900);
        parseRateLimitRemaining(s);
        authKeyHost(s);
      }),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(fc.record({ realm: fc.webUrl(), service: fc.string({ maxLength: 20 }).filter((s) => !/["\\]/.test(s)) }), ({ realm, service }) => {
        expect(parseChallenge(`Bearer realm="${realm}",service="${service}"`)).toMatchObject({ scheme: 'bearer', realm, service });
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('host backoff', () => {
  it('doubles from 5 s without Retry-After, stops at 5 minutes, and ends at the first success', async () => {
    const { HostGate } = await import('../../src/adapters/registry/host-gate.js');
    let now = 0;
    const gate = new HostGate(4, 2, 900, () => now);
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      gate.failed('h', 'unreachable', undefined);
      let t = 0;
      while (gate.closed('h')) {
        now += 1_000;
        t += 1;
      }
      waits.push(t);
    }
    expect(waits).toEqual([5, 10, 20, 40, 80, 160, 300, 300, 300]);
    gate.failed('h', 'rate-limited', 600);
    expect(gate.closed('h')).toMatchObject({ kind: 'rate-limited' });
    now += 600_000;
    expect(gate.closed('h')).toBeUndefined();
    gate.succeeded('h');
    gate.failed('h', 'unreachable', undefined);
    now += 5_000;
    expect(gate.closed('h')).toBeUndefined(); // the count started again
  });
});
