/**
 * Configuration rules that depend on the containerd release: relative glob imports
 * (containerd#9746, fixed in 1.6.29 / 1.7.16 / 2.0.0) and which host directories
 * containerd can ever look up.
 */
import { describe, expect, it } from 'vitest';
import { memoryHostFiles } from '../../src/adapters/node-files/host-files.js';
import { isHostDirName } from '../../src/runtimes/containerd/read.js';
import { analyzeRegistryConfig } from '../../src/report/analyze.js';
import { readContainerdConfig } from '../../src/runtimes/containerd/profile.js';
import { relativeGlobBase, parseRuntimeVersion, inferRuntimeVersion } from '../../src/runtimes/containerd/rules.js';

const CFG = '/etc/containerd/config.toml';
const CRI = 'plugins."io.containerd.grpc.v1.cri"';
const tree = (imp: string) =>
  memoryHostFiles({
    [CFG]: `version = 2\nimports = ["${imp}"]\n[${CRI}]\n  sandbox_image = "pause"\n`,
    '/etc/containerd/conf.d/mirror.toml': `version = 2\n[${CRI}.registry]\n  config_path = "/etc/containerd/certs.d"\n`,
    '/etc/containerd/certs.d/reg.example/hosts.toml': `server = "https://reg.example"\n[host."http://mirror.local:5000"]\n  capabilities = ["pull", "resolve"]\n`,
  });
const plan = (imp: string, version?: string) => {
  const read = readContainerdConfig(tree(imp), { hostRoot: '/', configFile: CFG, ...(version ? { runtimeVersion: version } : {}) }, undefined);
  return { read, out: analyzeRegistryConfig({ runtime: 'containerd', read }, ['reg.example']) };
};

describe('relative glob imports follow the running release', () => {
  it('the boundary is the tagged fix: 1.6.29, 1.7.16, 2.0.0', () => {
    const v = (s: string) => relativeGlobBase(parseRuntimeVersion(s, 'runtime')!);
    expect([v('1.6.20'), v('1.6.28'), v('1.6.29'), v('1.7.15'), v('1.7.16'), v('2.0.0'), v('2.3.4')]).toEqual([
      'working-dir', 'working-dir', 'config-dir', 'working-dir', 'config-dir', 'config-dir', 'config-dir',
    ]);
    expect(relativeGlobBase(inferRuntimeVersion(2))).toBe('unknown');
  });

  it('1.6.20: "conf.d/*.toml" is not loaded → no mirror in the plan, mirror-config-ignored names the drop-in', () => {
    const { read, out } = plan('conf.d/*.toml', '1.6.20');
    expect(read.config.config.files).toEqual([CFG]);
    expect(out.registries.registries.find((p) => p.registry === 'reg.example')?.mirrorResolves).toBe(false);
    const f = out.findings.find((x) => x.code === 'mirror-config-ignored')!;
    expect(f.message).toMatch(/relative glob.*working directory.*\/etc\/containerd\/conf\.d\/mirror\.toml/);
  });

  it('1.6.20 with an absolute glob, and 1.6.29 with the relative one: loaded, the mirror resolves tags', () => {
    for (const [imp, version] of [['/etc/containerd/conf.d/*.toml', '1.6.20'], ['conf.d/*.toml', '1.6.29'], ['conf.d/*.toml', '2.1.3']] as const) {
      const { read, out } = plan(imp, version);
      expect(read.config.config.files).toContain('/etc/containerd/conf.d/mirror.toml');
      expect(out.registries.registries.find((p) => p.registry === 'reg.example')).toMatchObject({ mirrorResolves: true, resolvesTagsVia: 'http://mirror.local:5000' });
      expect(out.findings.map((x) => x.code)).not.toContain('config-version-dependent');
    }
  });

  it('a relative path without "*" was always resolved next to config.toml', () => {
    const { read } = plan('conf.d/mirror.toml', '1.6.20');
    expect(read.config.config.files).toContain('/etc/containerd/conf.d/mirror.toml');
  });

  it('release unknown: the drop-in is read, and a config-version-dependent warning carries the evidence', () => {
    const { read, out } = plan('conf.d/*.toml');
    expect(read.version.source).toBe('inferred');
    expect(read.config.config.files).toContain('/etc/containerd/conf.d/mirror.toml');
    const f = out.findings.find((x) => x.code === 'config-version-dependent')!;
    expect(f).toMatchObject({ severity: 'warning', evidence: { file: '/etc/containerd/conf.d/mirror.toml' } });
    expect(f.message).toMatch(/1\.6\.29\+, 1\.7\.16\+ and 2\.x load it/);
  });

  it('"?" without "*" is a literal file name to containerd (only "*" makes a glob)', () => {
    const files = memoryHostFiles({ [CFG]: 'version = 2\nimports = ["/etc/containerd/a?.toml"]\n', '/etc/containerd/ab.toml': 'version = 2\n' });
    const read = readContainerdConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: '2.0.0' }, undefined);
    expect(read.config.config.files).toEqual([CFG]);
    expect(analyzeRegistryConfig({ runtime: 'containerd', read }).findings.some((f) => f.code === 'config-error' && /a\?\.toml/.test(f.message))).toBe(true);
  });
});

describe('host directories containerd can look up', () => {
  it('registry host names (with :port, _port_, IPv6) and _default only', () => {
    for (const ok of ['docker.io', 'registry-1.docker.io', 'reg.example:5000', 'reg.example_5000_', '127.0.0.1:5000', '[::1]:5000', '_default', 'localhost']) {
      expect(isHostDirName(ok), ok).toBe(true);
    }
    for (const bad of ['backup copy', 'a%b', 'x|y', '_backup', '..', 'a/b', '', 'reg:port', '-lead.example', 'x\u0007y']) expect(isHostDirName(bad), bad).toBe(false);
  });

  it('an odd directory name fails nothing: it is skipped with a finding; spegel\'s _backup is not configuration', () => {
    const files = memoryHostFiles({
      [CFG]: `version = 2\n[${CRI}.registry]\n  config_path = "/etc/containerd/certs.d"\n`,
      '/etc/containerd/certs.d/backup copy/hosts.toml': 'server = "https://x.example"\n',
      '/etc/containerd/certs.d/a%b/hosts.toml': 'server = "https://x.example"\n',
      '/etc/containerd/certs.d/_backup/docker.io/hosts.toml': 'server = "https://old.example"\n',
      '/etc/containerd/certs.d/_backup/hosts.toml': 'server = "https://old.example"\n',
      '/etc/containerd/certs.d/reg.example/hosts.toml': `server = "https://reg.example"\n[host."http://m.local:5000"]\n  capabilities = ["pull", "resolve"]\n`,
    });
    for (const version of ['1.6.20', '2.2.2']) {
      const read = readContainerdConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: version }, undefined);
      const out = analyzeRegistryConfig({ runtime: 'containerd', read });
      expect(out.registries.registries.map((p) => p.registry)).toEqual(['reg.example']);
      const ignored = out.findings.filter((f) => f.code === 'mirror-config-ignored').map((f) => f.message);
      expect(ignored).toHaveLength(2);
      expect(ignored.join('\n')).toMatch(/"backup copy" is not a registry host name/);
      expect(ignored.join('\n')).not.toMatch(/_backup/);
    }
  });
});
