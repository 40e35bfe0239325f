/**
 * The node's own registry credentials (config.toml `registry.configs."<host>".auth` and
 * legacy `auths`): where the parser says they are (never what they are), which endpoint
 * each goes to (the host containerd contacts, only that one), what the registry client
 * sends, and what a report says when tagdrift cannot use what the node has.
 */
import { describe, expect, it } from 'vitest';
import { loadContainerdConfig } from '../../src/runtimes/containerd/config-toml.js';
import { memoryHostFiles } from '../../src/adapters/node-files/host-files.js';
import { readContainerdConfig } from '../../src/runtimes/containerd/profile.js';
import { planRegistry } from '../../src/runtimes/containerd/plan.js';
import { parseRuntimeVersion } from '../../src/runtimes/containerd/rules.js';
import type { RuntimeVersion } from '../../src/domain/registry-config.js';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { createRegistryLookup } from '../../src/adapters/registry/lookup.js';
import { shareable } from '../../src/adapters/registry/shared-lookup.js';
import { analyzeRegistryConfig } from '../../src/report/analyze.js';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { makeImage, pushImage } from '../helpers/oci.js';

const V = (s: string): RuntimeVersion => parseRuntimeVersion(s, 'flag')!;
const CFG = '/etc/containerd/config.toml';
const CRI = 'plugins."io.containerd.grpc.v1.cri".registry';
const PW = 'canary-node-pw-2b7d';

describe('config.toml credentials: where, never what', () => {
  it('records kinds and files per host; no value in the view', () => {
    const files = memoryHostFiles({
      [CFG]: `version = 2\n[${CRI}.configs."reg.example:5000".auth]\n  username = "robot"\n  password = "${PW}"\n` +
        `[${CRI}.configs."tok.example".auth]\n  identitytoken = "${PW}-tok"\n[${CRI}.configs."tls.example".tls]\n  insecure_skip_verify = true\n` +
        `[${CRI}.auths."https://old.example/v1/"]\n  auth = "${Buffer.from(`u:${PW}`).toString('base64')}"\n`,
    });
    const view = loadContainerdConfig(files, CFG, V('1.7.20'));
    expect(view.registry?.auth).toEqual({
      'reg.example:5000': { files: [CFG], plugin: 'io.containerd.grpc.v1.cri', kinds: ['username', 'password'] },
      'tok.example': { files: [CFG], plugin: 'io.containerd.grpc.v1.cri', kinds: ['identitytoken'] },
      'old.example': { files: [CFG], plugin: 'io.containerd.grpc.v1.cri', kinds: ['auth'], legacyAuths: 'https://old.example/v1/' },
    });
    expect(JSON.stringify(view)).not.toContain(PW);
  });

  it('containerd 1.x: a drop-in with the plugin table replaces the root one, credentials included; 2.x merges', () => {
    const tree = {
      [CFG]: `version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n[${CRI}.configs."reg.example".auth]\n  username = "robot"\n  password = "${PW}"\n`,
      '/etc/containerd/conf.d/cri.toml': `version = 2\n[${CRI}]\n  config_path = "/etc/containerd/certs.d"\n`,
    };
    expect(loadContainerdConfig(memoryHostFiles(tree), CFG, V('1.7.20')).registry?.auth).toBeUndefined();
    expect(loadContainerdConfig(memoryHostFiles(tree), CFG, V('2.1.0')).registry?.auth).toEqual({
      'reg.example': { files: [CFG], plugin: 'io.containerd.grpc.v1.cri', kinds: ['username', 'password'] },
    });
  });

  it('the credential is planned for the endpoint whose host it names: the mirror gets none of upstream\'s', () => {
    const files = memoryHostFiles({
      [CFG]: `version = 2\n[${CRI}]\n  config_path = "/etc/containerd/certs.d"\n[${CRI}.configs."reg.example".auth]\n  username = "robot"\n  password = "${PW}"\n`,
      '/etc/containerd/certs.d/reg.example/hosts.toml': `server = "https://reg.example"\n[host."http://mirror.local:5000"]\n  capabilities = ["pull", "resolve"]\n`,
    });
    const read = readContainerdConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: '1.6.20' }, undefined);
    const plan = planRegistry('reg.example', read.config, read.version);
    expect(plan.endpoints.map((e) => [e.url, e.nodeCredential?.host])).toEqual([['http://mirror.local:5000', undefined], ['https://reg.example', 'reg.example']]);
    // A question that needs the node's credential never goes to the shared resolver.
    expect(plan.endpoints.map((e) => shareable(e, { nodeAddresses: [], credentialHosts: new Set() }))).toEqual([true, false]);
    const report = analyzeRegistryConfig({ runtime: 'containerd', read }, ['reg.example']);
    expect(JSON.stringify(report)).not.toContain(PW);
  });
});

describe('the registry client with the node\'s credentials', () => {
  const img = makeImage({ version: '1.0.0' });

  async function scenario(auth: string) {
    const reg = await new FakeRegistry().start();
    reg.requireBasic('robot', PW);
    await pushImage(reg.url, 'team/app', '1.0', img, { authorization: `Basic ${Buffer.from(`robot:${PW}`).toString('base64')}` });
    const mirror = await new FakeRegistry().start();
    mirror.requireBasic('robot', PW);
    const files = memoryHostFiles({
      [CFG]: `version = 2\n[${CRI}]\n  config_path = "/etc/containerd/certs.d"\n[${CRI}.configs."${reg.host}".auth]\n${auth}\n`,
      [`/etc/containerd/certs.d/${reg.host}/hosts.toml`]: `server = "${reg.url}"\n[host."${mirror.url}"]\n  capabilities = ["pull", "resolve"]\n[host."${reg.url}"]\n  capabilities = ["pull", "resolve"]\n`,
    });
    const read = readContainerdConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: '1.6.20' }, undefined);
    const plan = planRegistry(reg.host, read.config, read.version);
    const client = new RegistryClient({ timeoutMs: 2_000 });
    const lookup = createRegistryLookup(client, files);
    const answers = await Promise.all(plan.endpoints.map((e) => lookup.resolveTag(e, reg.host, 'team/app', '1.0')));
    const stop = async () => {
      client.close();
      await reg.stop();
      await mirror.stop();
    };
    return { reg, mirror, answers, stop };
  }

  it('username and password: sent to that host after its challenge, never to the mirror', async () => {
    const { reg, mirror, answers, stop } = await scenario(`  username = "robot"\n  password = "${PW}"`);
    try {
      expect(answers[0]).toMatchObject({ ok: false, kind: 'auth' });
      expect(JSON.stringify(answers[0])).toContain('no credentials are configured');
      expect(answers[1]).toMatchObject({ ok: true, digest: img.manifest.digest });
      expect(mirror.requests.every((r) => r.authorization === undefined)).toBe(true);
      expect(reg.manifestRequests('HEAD').map((r) => r.authorization?.split(' ')[0] ?? 'none')).toEqual(['none', 'Basic']);
      expect(JSON.stringify(answers)).not.toContain(PW);
    } finally {
      await stop();
    }
  });

  it('auth (base64 user:password) works the same', async () => {
    const { answers, stop } = await scenario(`  auth = "${Buffer.from(`robot:${PW}`).toString('base64')}"`);
    try {
      expect(answers[1]).toMatchObject({ ok: true, digest: img.manifest.digest });
    } finally {
      await stop();
    }
  });

  it('an identity token: the answer names the file and what tagdrift lacks, never "no credentials are configured"', async () => {
    const { answers, stop } = await scenario(`  identitytoken = "${PW}-refresh"`);
    try {
      const a = answers[1] as { ok: false; kind: string; message: string };
      expect(a).toMatchObject({ ok: false, kind: 'auth' });
      expect(a.message).toContain(`the node has credentials for this host in ${CFG}`);
      expect(a.message).toContain('tagdrift cannot use an identitytoken');
      expect(a.message).not.toContain('no credentials are configured');
      expect(a.message).not.toContain(PW);
    } finally {
      await stop();
    }
  });

  it('wrong node credentials: refused, and the answer says they came from the node\'s file', async () => {
    const { answers, stop } = await scenario(`  username = "robot"\n  password = "wrong-${PW}"`);
    try {
      const a = answers[1] as { ok: false; kind: string; message: string };
      expect(a).toMatchObject({ ok: false, kind: 'auth' });
      expect(a.message).toContain(`credentials from the node's ${CFG}`);
      expect(a.message).not.toContain(PW);
    } finally {
      await stop();
    }
  });
});
