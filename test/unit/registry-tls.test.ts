/** TLS per hosts.toml: `ca` (relative to the host directory), `skip_verify`, and the failure without either. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { createRegistryLookup } from '../../src/adapters/registry/lookup.js';
import { memoryHostFiles } from '../../src/adapters/node-files/host-files.js';
import type { PlannedEndpoint } from '../../src/domain/registry-config.js';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { makeImage, pushImage } from '../helpers/oci.js';

let dir: string;
let reg: FakeRegistry;
let cert: string;
const img = makeImage({ version: 'tls' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tagdrift-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  reg = await new FakeRegistry().start({ key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert });
  process.env['NODE_TLS_REJECT_UNAUTHORIZED'] = '0';
  await pushImage(reg.url, 'secure/app', '1', img);
  delete process.env['NODE_TLS_REJECT_UNAUTHORIZED'];
});
afterAll(async () => {
  await reg.stop();
  rmSync(dir, { recursive: true, force: true });
});

const planned = (extra: Partial<PlannedEndpoint>): PlannedEndpoint => ({
  url: reg.url, capabilities: ['pull', 'resolve'], source: `/etc/containerd/certs.d/${reg.host}/hosts.toml server`, skipVerify: false, headerNames: [], ...extra,
});

describe('registry TLS from hosts.toml', () => {
  it('an untrusted certificate is unreachable (TLS), never a digest', async () => {
    const client = new RegistryClient();
    const lookup = createRegistryLookup(client, memoryHostFiles({}));
    expect(await lookup.resolveTag(planned({}), reg.host, 'secure/app', '1')).toMatchObject({ ok: false, kind: 'unreachable', message: expect.stringContaining('TLS') });
    client.close();
  });

  it('ca = "ca.crt" (relative to the host directory) makes it trusted', async () => {
    const client = new RegistryClient();
    const files = memoryHostFiles({ [`/etc/containerd/certs.d/${reg.host}/ca.crt`]: cert, [`/etc/containerd/certs.d/${reg.host}/hosts.toml`]: `server = "${reg.url}"` });
    const lookup = createRegistryLookup(client, files);
    const e = planned({ tls: { ca: ['ca.crt'], clientPairs: [] } });
    expect(await lookup.resolveTag(e, reg.host, 'secure/app', '1')).toMatchObject({ ok: true, digest: img.manifest.digest });
    client.close();
  });

  it('skip_verify = true accepts it', async () => {
    const client = new RegistryClient();
    const lookup = createRegistryLookup(client, memoryHostFiles({}));
    expect(await lookup.resolveTag(planned({ skipVerify: true }), reg.host, 'secure/app', '1')).toMatchObject({ ok: true, digest: img.manifest.digest });
    client.close();
  });

  it('hosts.toml header values are sent to the endpoint they belong to', async () => {
    const client = new RegistryClient();
    const file = `/etc/containerd/certs.d/${reg.host}/hosts.toml`;
    const files = memoryHostFiles({ [file]: `server = "https://upstream.example"\n[host."${reg.url}"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true\n  [host."${reg.url}".header]\n    x-canary = "canary-header-value-91"\n` });
    const lookup = createRegistryLookup(client, files);
    reg.requests.length = 0;
    await lookup.resolveTag(planned({ skipVerify: true, headerNames: ['x-canary'], origin: { file, entry: 0 } }), reg.host, 'secure/app', '1');
    expect(reg.manifestRequests()[0]!.headers['x-canary']).toBe('canary-header-value-91');
    client.close();
  });
});

describe('client certificates from hosts.toml', () => {
  let mtls: FakeRegistry;
  let caDir: string;
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: caDir });
  beforeAll(async () => {
    caDir = mkdtempSync(join(tmpdir(), 'tagdrift-mtls-'));
    ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-client-ca']);
    ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=node-agent']);
    ossl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1']);
    mtls = await new FakeRegistry().start({ key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert, clientCa: readFileSync(join(caDir, 'ca.crt'), 'utf8') });
    mtls.putManifest('secure/app', img.manifest.bytes, img.manifest.mediaType, '1');
  });
  afterAll(async () => {
    await mtls.stop();
    rmSync(caDir, { recursive: true, force: true });
  });

  it('without the client certificate the handshake fails (unreachable); with client = [cert, key] it answers', async () => {
    const base = `/etc/containerd/certs.d/${mtls.host}`;
    const files = memoryHostFiles({
      [`${base}/ca.crt`]: cert,
      [`${base}/client.crt`]: readFileSync(join(caDir, 'client.crt'), 'utf8'),
      [`${base}/client.key`]: readFileSync(join(caDir, 'client.key'), 'utf8'),
    });
    const source = `${base}/hosts.toml server`;
    const client = new RegistryClient({ timeoutMs: 3_000 });
    const lookup = createRegistryLookup(client, files);
    const noCert = { url: mtls.url, capabilities: ['pull', 'resolve'], source, skipVerify: false, headerNames: [], tls: { ca: ['ca.crt'], clientPairs: [] } };
    expect(await lookup.resolveTag(noCert, mtls.host, 'secure/app', '1')).toMatchObject({ ok: false, kind: 'unreachable' });
    client.close();
    const client2 = new RegistryClient({ timeoutMs: 3_000 });
    const withCert = { ...noCert, tls: { ca: ['ca.crt'], clientPairs: [['client.crt', 'client.key'] as const] } };
    expect(await createRegistryLookup(client2, files).resolveTag(withCert, mtls.host, 'secure/app', '1')).toMatchObject({ ok: true, digest: img.manifest.digest });
    client2.close();
  });
});
