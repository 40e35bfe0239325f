import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadContainerdConfig } from '../../src/runtimes/containerd/config-toml.js';
import { memoryHostFiles } from '../../src/adapters/node-files/host-files.js';
import { parseHostsToml, splitHostUrl } from '../../src/runtimes/containerd/hosts-toml.js';
import { parseRuntimeVersion } from '../../src/runtimes/containerd/rules.js';
import { analyzeRegistryConfig } from '../../src/report/analyze.js';
import { readContainerdConfig } from '../../src/runtimes/containerd/profile.js';
import type { RuntimeVersion } from '../../src/domain/registry-config.js';

const V = (s: string): RuntimeVersion => parseRuntimeVersion(s, 'flag')!;
const CFG = '/etc/containerd/config.toml';
const CANARY = 'canary-Tk9-SECRET';

describe('secrets never leave the parser', () => {
  it('a password in a legacy mirror endpoint URL is dropped: not in the plan, the findings or the table', async () => {
    const files = memoryHostFiles({
      [CFG]: `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n  endpoint = ["http://user:${CANARY}@mirror.local:5000", "https://${CANARY}@m2.example/v2/"]\n`,
    });
    const read = readContainerdConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: '1.7.20' }, undefined);
    const out = analyzeRegistryConfig({ runtime: 'containerd', read }, ['docker.io']);
    const { renderRegistries } = await import('../../src/render/registries.js');
    expect(JSON.stringify({ read, out }) + renderRegistries({ ...out.registries, findings: out.findings }, false)).not.toContain(CANARY);
    expect(out.registries.registries[0]!.endpoints.map((e) => e.url)).toEqual(['http://mirror.local:5000', 'https://m2.example/v2', 'https://registry-1.docker.io']);
  });

  it('a canary in every credential-bearing field appears in no output', () => {
    const files = memoryHostFiles({
      [CFG]: `version = 2
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = ""
[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
  endpoint = ["https://mirror.example"]
[plugins."io.containerd.grpc.v1.cri".registry.configs."mirror.example".auth]
  username = "${CANARY}"
  password = "${CANARY}"
  auth = "${CANARY}"
  identitytoken = "${CANARY}"
[plugins."io.containerd.grpc.v1.cri".registry.auths."https://old.example"]
  auth = "${CANARY}"
[plugins."io.containerd.grpc.v1.cri".registry.headers]
  Authorization = ["Bearer ${CANARY}"]
`,
      '/etc/containerd/certs.d/ghcr.io/hosts.toml': `server = "https://ghcr.io"\n[host."https://m.example"]\n  capabilities = ["pull", "resolve"]\n  [host."https://m.example".header]\n    Authorization = "Basic ${CANARY}"\n[header]\n  X-Token = ["${CANARY}"]\n`,
      '/etc/containerd/certs.d/broken/hosts.toml': `password = "${CANARY}" oops`,
    });
    for (const version of ['1.6.20', '1.7.20', '2.0.5', '2.2.2']) {
      const read = readContainerdConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: version }, undefined);
      const out = analyzeRegistryConfig({ runtime: 'containerd', read }, ['docker.io', 'ghcr.io', 'broken']);
      const text = JSON.stringify({ read, out });
      expect(text).not.toContain(CANARY);
      expect(text).toContain('Authorization'); // header names are kept
    }
    const cfgErr = loadContainerdConfig(memoryHostFiles({ [CFG]: `version = 2\npassword = "${CANARY}" x` }), CFG, V('1.7.0'));
    expect(JSON.stringify(cfgErr)).not.toContain(CANARY);
    expect(cfgErr.errors[0]).toMatchObject({ file: CFG, line: 2 });
  });
});

describe('imports', () => {
  it('follows globs and relative paths breadth-first, once each, through cycles', () => {
    const files = memoryHostFiles({
      [CFG]: 'version = 2\nimports = ["conf.d/*.toml", "/etc/containerd/extra.toml"]\n',
      '/etc/containerd/conf.d/10-a.toml': 'imports = ["../config.toml"]\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/a"\n',
      '/etc/containerd/conf.d/20-b.toml': '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/b"\n',
      '/etc/containerd/extra.toml': 'imports = ["/etc/containerd/conf.d/10-a.toml"]\n',
    });
    const view = loadContainerdConfig(files, CFG, V('2.0.0'));
    expect(view.files).toEqual([CFG, '/etc/containerd/conf.d/10-a.toml', '/etc/containerd/conf.d/20-b.toml', '/etc/containerd/extra.toml']);
    expect(view.registry?.configPath).toBe('/b');
    expect(view.errors).toEqual([]);
  });

  it('a missing non-glob import stops containerd; a glob with no match is nothing', () => {
    const files = memoryHostFiles({ [CFG]: 'version = 2\nimports = ["/nope.toml", "/etc/x/*.toml"]\n' });
    const view = loadContainerdConfig(files, CFG, V('1.7.0'));
    expect(view.errors.map((e) => e.file)).toEqual(['/nope.toml']);
  });

  it('1.x replaces a plugin table wholesale; 2.x merges it', () => {
    const files = memoryHostFiles({
      [CFG]: 'version = 2\nimports = ["/d.toml"]\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/certs"\n',
      '/d.toml': '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause"\n',
    });
    expect(loadContainerdConfig(files, CFG, V('1.7.0')).registry).toBeUndefined();
    expect(loadContainerdConfig(files, CFG, V('2.0.0')).registry?.configPath).toBe('/certs');
  });

  it('a file over the size cap is not read, named with its path as tagdrift\'s own limit, not as a containerd error', () => {
    const files = memoryHostFiles({ [CFG]: `version = 2\n# ${'x'.repeat(10)}\n` });
    const big = { ...files, read: (p: string) => (p === CFG ? { ok: false as const, kind: 'too-large' as const, message: 'larger than 1048576 bytes' } : files.read(p)) };
    const view = loadContainerdConfig(big, CFG, V('1.7.0'));
    expect(view.errors).toEqual([]);
    expect(view.notRead).toEqual([{ file: CFG, reason: "larger than 1048576 bytes: not read (tagdrift's own limit)" }]);
  });
});

describe('hosts.toml rules', () => {
  it('an unknown capability makes containerd skip the whole file', () => {
    const r = parseHostsToml('[host."https://m"]\n  capabilities = ["pull", "resolve", "referrers"]\n', 'f', 'docker.io', V('2.1.0'));
    expect(r.ignoredBecause?.reason).toContain('referrers');
    expect(parseHostsToml('[host."https://m"]\n  capabilities = ["pull", "resolve", "referrers"]\n', 'f', 'docker.io', V('2.2.0')).ignoredBecause).toBeUndefined();
  });

  it('a file with only server is rejected by containerd 1.6 and accepted by 1.7', () => {
    expect(parseHostsToml('server = "http://r:5000"\n', 'f', 'r:5000', V('1.6.20')).ignoredBecause?.reason).toContain('10027');
    expect(parseHostsToml('server = "http://r:5000"\n', 'f', 'r:5000', V('1.7.20')).hosts.map((h) => h.url)).toEqual(['http://r:5000']);
  });

  it('without server the upstream gets every capability, whatever the root says', () => {
    const r = parseHostsToml('capabilities = ["pull"]\n[host."https://m"]\n  capabilities = ["pull"]\n', 'f', 'docker.io', V('1.7.0'));
    expect(r.hosts.map((h) => [h.url, h.capabilities.join(',')])).toEqual([['https://m', 'pull'], ['https://registry-1.docker.io', 'pull,resolve,push']]);
  });

  it('paths: /v2 appended unless present or override_path', () => {
    expect(splitHostUrl('https://h/proxy', false)).toEqual({ url: 'https://h', path: '/proxy/v2' });
    expect(splitHostUrl('https://h/v2/proj', true)).toEqual({ url: 'https://h', path: '/v2/proj' });
    expect(splitHostUrl('h:5000', false)).toEqual({ url: 'https://h:5000', path: '/v2' });
  });

  it.each([
    ['capabilities = "pull"\n[host."https://m"]\n', /capabilities must be a list of strings/],
    ['[host."https://m"]\n  skip_verify = "yes"\n', /skip_verify/],
    ['[host."https://m"]\n  dial_timeout = 5\n', /dial_timeout/],
    ['[host."https://m"]\n  header = "x"\n', /header/],
  ])('wrong types make the file ignored: %j', (text, why) => {
    expect(parseHostsToml(text, 'f', 'docker.io', V('2.1.0')).ignoredBecause?.reason).toMatch(why);
  });
});

describe('parsers never throw and never hang (10,000 generated inputs each)', () => {
  const fragments = [
    'server = "https://r"\n', '[host."https://m"]\n', '[host]\n', 'capabilities = ["pull", "resolve"]\n', 'capabilities = ["bogus"]\n',
    'ca = ["a", "b"]\n', 'client = [["c", "k"]]\n', 'skip_verify = true\n', 'override_path = 1\n', '[header]\n', 'X = ["v"]\n',
    'version = 2\n', 'imports = ["*.toml", "/cycle.toml"]\n', '[plugins."io.containerd.grpc.v1.cri".registry]\n', 'config_path = "/c"\n',
    '[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n', 'endpoint = ["m", 1]\n', 'mirrors = 3\n', '"\n', '= =\n', '[[x]]\n', 'a.b.c = 1\n',
  ];
  const doc = fc.oneof(fc.string({ maxLength: 200 }), fc.array(fc.constantFrom(...fragments), { maxLength: 12 }).map((a) => a.join('')));

  it('parseHostsToml', () => {
    fc.assert(
      fc.property(doc, fc.constantFrom('1.6.0', '1.7.0', '2.1.0', '2.2.2'), (text, v) => {
        const r = parseHostsToml(text, 'f', 'docker.io', V(v));
        expect(r.hosts.length > 0 || r.ignoredBecause !== undefined).toBe(true);
      }),
      { numRuns: 10_000 },
    );
  });

  it('loadContainerdConfig with imports', () => {
    fc.assert(
      fc.property(doc, doc, fc.constantFrom('1.6.0', '1.7.0', '2.1.0', '2.3.0'), (root, dropIn, v) => {
        const files = memoryHostFiles({ [CFG]: `imports = ["/cycle.toml", "/etc/containerd/*.toml"]\n${root}`, '/cycle.toml': `imports = ["${CFG}"]\n${dropIn}` });
        const view = loadContainerdConfig(files, CFG, V(v));
        expect(view.files.length).toBeLessThanOrEqual(3);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('which rules apply', () => {
  it('without a flag or a runtime, the version is inferred from the root file alone', () => {
    const files = memoryHostFiles({ [CFG]: 'version = 3\nimports = ["/missing-but-never-read.toml"]\n' });
    const read = readContainerdConfig(files, { hostRoot: '/', configFile: CFG }, undefined);
    expect(read.version).toMatchObject({ major: 2, source: 'inferred' });
    const v2 = readContainerdConfig(memoryHostFiles({ [CFG]: 'version = 2\n' }), { hostRoot: '/', configFile: CFG }, undefined);
    expect(v2.version).toMatchObject({ major: 1, minor: 7, source: 'inferred' });
  });

  it('the flag wins over the runtime, the runtime over inference', () => {
    const files = memoryHostFiles({ [CFG]: 'version = 2\n' });
    const rt = { name: 'containerd', version: 'v1.6.20~ds1', apiVersion: 'v1' };
    expect(readContainerdConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: '2.2.2' }, rt).version).toMatchObject({ major: 2, minor: 2, source: 'flag' });
    expect(readContainerdConfig(files, { hostRoot: '/', configFile: CFG }, rt).version).toMatchObject({ major: 1, minor: 6, patch: 20, source: 'runtime' });
  });
});
