/**
 * The project's own node-config fixtures (test/fixtures/nodes/, SOURCES.md names what each
 * mimics): every construct the external corpus exercises, laid out as a node's files,
 * planned through the agent's code path and checked against containerd's documented
 * rules, then against test/golden/nodes/ (written only by `npm run golden`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CANARY, CERTS, goldenText, OWN_FIXTURES, OWN_GOLDEN, ownScenarios, runScenario } from '../corpus/scenarios.js';

const scenarios = ownScenarios();
const byName = (n: string) => {
  const s = scenarios.find((x) => x.name === n);
  if (!s) throw new Error(`no fixture ${n}`);
  return runScenario(s);
};
type Result = ReturnType<typeof runScenario>;
const plan = (r: Result, reg: string) => {
  const p = r.registries.registries.find((x) => x.registry === reg);
  if (!p) throw new Error(`no plan for ${reg}`);
  return p;
};
const codes = (r: Result) => r.findings.map((f) => f.code);

describe('own fixtures', () => {
  it('every fixture is named in SOURCES.md with what it mimics', () => {
    const sources = readFileSync(join(OWN_FIXTURES, 'SOURCES.md'), 'utf8');
    expect(scenarios.length).toBeGreaterThanOrEqual(20);
    for (const s of scenarios) {
      expect(sources, s.name).toContain(`| ${s.name} |`);
      expect(s.mimics, s.name).toBeTruthy();
    }
  });

  it.each(scenarios.map((s) => [s.name, s] as const))('%s gives its golden plan', (name, s) => {
    const json = goldenText(s);
    expect(json).not.toContain(CANARY);
    const golden = join(OWN_GOLDEN, `${name}.json`);
    expect(existsSync(golden), `golden ${golden} is missing: write it with \`npm run golden\` and review it`).toBe(true);
    expect(json).toBe(readFileSync(golden, 'utf8'));
  });

  it('no golden without a fixture', () => {
    const names = new Set(scenarios.map((s) => `${s.name}.json`));
    expect(readdirSync(OWN_GOLDEN).filter((f) => !names.has(f))).toEqual([]);
  });
});

describe('what containerd does with each layout', () => {
  it('version 3 stock config on 2.1: no hosts directory, pulls go to the registry itself', () => {
    const r = byName('v3-stock-2.1');
    expect(plan(r, 'docker.io')).toMatchObject({ resolvesTagsVia: 'https://registry-1.docker.io', mirrorResolves: false });
    expect(codes(r)).not.toContain('config-error');
  });

  it('the stock config on 2.2: default two-directory path, ignored by the transfer service (containerd#12808)', () => {
    const r = byName('v3-stock-2.2');
    expect(r.registries.configPath).toEqual({ roots: ['/etc/containerd/certs.d', '/etc/docker/certs.d'], source: 'default (containerd >= 2.2)' });
    expect(r.findings.find((f) => f.code === 'mirror-config-ignored')?.message).toContain('containerd#12808');
    expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
  });

  it('1.7 default dump: empty tables, imports = [], nothing to report', () => {
    const r = byName('v2-stock-1.7');
    expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
    expect(codes(r).filter((c) => c !== 'mutable-tag')).toEqual([]);
  });

  it('GCE: mirror.gcr.io resolves docker.io tags', () => {
    const r = byName('gce-mirror');
    expect(plan(r, 'docker.io')).toMatchObject({ resolvesTagsVia: 'https://mirror.gcr.io', mirrorResolves: true, mode: 'hosts' });
    expect(codes(r)).toContain('mirror-resolves-tags');
  });

  it('no registry table: upstream, no findings about mirrors', () => {
    const r = byName('no-registry-section');
    expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
    expect(codes(r)).not.toContain('mirror-resolves-tags');
  });

  it('legacy mirrors with a trailing comma: planned and flagged on 1.6, a CRI plugin error on 2.2.0', () => {
    const r = byName('legacy-mirrors-1.6');
    expect(plan(r, 'registry.k8s.io')).toMatchObject({ mode: 'legacy-mirrors' });
    expect(plan(r, 'registry.k8s.io').endpoints.map((e) => e.url)).toEqual(['https://registry.k8s.io', 'https://k8s.gcr.io']);
    expect(codes(r)).toContain('legacy-mirror-config');
    expect(codes(byName('legacy-mirrors-2.2.0'))).toContain('config-error');
  });

  it('a host:port directory with a bare [host] entry: no capabilities means all three (containerd hosts.go)', () => {
    const p = plan(byName('local-registry-port-dir'), 'localhost:5001');
    expect(p.resolvesTagsVia).toBe('http://dev-registry:5000');
    expect(p.endpoints[0]!.capabilities).toEqual(['pull', 'resolve', 'push']);
  });

  it('k3s legacy mirrors with auth: the mirror, then the registry; secrets never echoed', () => {
    const r = byName('k3s-legacy-auth');
    expect(plan(r, 'docker.io').endpoints.map((e) => e.url)).toEqual(['https://harbor.corp.example:8443', 'https://registry-1.docker.io']);
    expect(codes(r)).toContain('legacy-mirror-config');
  });

  it('k3s hosts.toml: override_path keeps the proxy path, ca and client arrays parse', () => {
    const r = byName('k3s-hosts');
    expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://harbor.corp.example:8443/v2/dockerhub');
    expect(codes(r)).not.toContain('mirror-config-ignored');
  });

  it('EKS AL2: the second config_path directory is read; a CRI drop-in replaces the table on 1.x', () => {
    expect(plan(byName('eks-al2'), 'docker.io').resolvesTagsVia).toBe('https://mirror.gcr.io');
    const replaced = byName('eks-al2-dropin-replaces-cri');
    expect(replaced.findings.find((f) => f.code === 'mirror-config-ignored')?.message).toContain('replaced wholesale by the drop-in /etc/containerd/config.d/99-extra.toml');
    expect(plan(replaced, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
  });

  it('EKS v3 with discard_unpacked_layers: 2.1 stays in local pull mode and reads hosts.toml', () => {
    const r = byName('eks-v3-transfer');
    expect(codes(r)).not.toContain('mirror-config-ignored');
    expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://mirror.gcr.io');
  });

  it('AKS: v3 plugin IDs in a version 2 file are read; override_path keeps the proxy path', () => {
    const r = byName('aks-v2-header');
    expect(r.registries.configPath.roots).toEqual([CERTS]);
    expect(plan(r, 'mcr.microsoft.com').resolvesTagsVia).toBe('https://corpacr.azurecr.io/v2/mcr-cache');
    expect(plan(r, 'mcr.azk8s.cn').resolvesTagsVia).toBe('https://mcr.azure.cn');
  });

  it('minikube version 1: short plugin IDs, legacy mirrors planned', () => {
    expect(plan(byName('minikube-v1'), 'docker.io')).toMatchObject({ mode: 'legacy-mirrors', resolvesTagsVia: 'https://registry-1.docker.io' });
  });

  it('Talos: imported drop-in read, host_port_ directory found, duplicated [host] file ignored', () => {
    const r = byName('talos');
    expect(codes(r)).not.toContain('config-error');
    expect(r.findings.find((f) => f.code === 'mirror-config-ignored')?.message).toMatch(/docker\.io\/hosts\.toml:\d+:\d+: invalid TOML/);
    expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
    expect(plan(r, 'registry.lan:5443').endpoints.map((e) => e.url)).toEqual(['https://registry.lan:5443', 'https://registry.lan:5443']);
    expect(r.findings.find((f) => f.code === 'legacy-mirror-config')?.message).toMatch(/registry\.configs\.\*\.auth \(registry\.lan:5443\)/);
  });

  it('docs: server docker.io with registry-1 as host is not a mirror; _default serves other registries', () => {
    const r = byName('docs-hosts');
    expect(plan(r, 'docker.io')).toMatchObject({ resolvesTagsVia: 'https://registry-1.docker.io', mirrorResolves: false });
    expect(plan(r, 'quay.io').resolvesTagsVia).toBe('https://pull-through.corp.example');
  });

  it('docs local mirror: the pull-only host is never asked for tags', () => {
    const p = plan(byName('docs-local-mirror'), 'docker.io');
    expect(p.endpoints.map((e) => [e.url, e.capabilities.join(',')])).toEqual([
      ['https://edge-cache.corp.example', 'pull'],
      ['https://hub-mirror.corp.example', 'pull,resolve'],
      ['https://registry-1.docker.io', 'pull,resolve,push'],
    ]);
    expect(p.resolvesTagsVia).toBe('https://hub-mirror.corp.example');
  });

  it('spegel: mirrors in file order, then the server', () => {
    const r = byName('spegel');
    expect(plan(r, 'ghcr.io').endpoints.map((e) => e.url)).toEqual(['http://127.0.0.1:30020', 'http://127.0.0.1:30021', 'http://10.0.0.7:30020', 'https://ghcr.io']);
    expect(plan(r, 'docker.io').resolvesTagsVia).toBe('http://127.0.0.1:30020');
  });

  it('certs.d without config_path is reported as never read', () => {
    const r = byName('certs-d-without-config-path');
    expect(r.findings.find((f) => f.code === 'mirror-config-ignored')?.message).toContain('config_path is not set');
    expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
  });
});
