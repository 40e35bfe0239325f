/**
 * External corpus tier: the verbatim real-world files of ../shared/corpus (kind, k3s, EKS,
 * AKS, GKE, minikube, Talos, spegel, containerd's docs; templates rendered with plausible
 * values) planned and compared with test/golden/corpus/. Runs when the corpus is present
 * (CI has it; set TAGDRIFT_CORPUS_DIR elsewhere); the project's own fixtures
 * (node-configs.test.ts) cover the same constructs on every run. The closing summary line
 * says whether this tier ran.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CANARY, CERTS, EXTERNAL_CORPUS, EXTERNAL_GOLDEN, externalCorpusPresent, externalFilesUsed, externalScenarios, goldenText, runScenario } from '../corpus/scenarios.js';

const present = externalCorpusPresent();
const scenarios = present ? externalScenarios() : [];
const run = runScenario;

describe.skipIf(!present)(`external corpus tier (${EXTERNAL_CORPUS})`, () => {
  it('uses every corpus file', () => {
    const used = externalFilesUsed();
    const all = readFileSync(join(EXTERNAL_CORPUS, 'SOURCES.md'), 'utf8').match(/^\| \d+ \| ([^ |]+)/gm)!.map((l) => l.split('| ')[2]!.trim());
    expect(all).toHaveLength(25);
    expect(all.filter((f) => !used.has(f))).toEqual([]);
  });

  it.each(scenarios.map((s) => [s.name, s] as const))('%s gives its golden plan', (name, s) => {
    const json = goldenText(s);
    expect(json).not.toContain(CANARY);
    const golden = join(EXTERNAL_GOLDEN, `${name}.json`);
    expect(existsSync(golden), `golden ${golden} is missing: write it with \`npm run golden\` and review it`).toBe(true);
    expect(json).toBe(readFileSync(golden, 'utf8'));
  });
  const byName = (n: string) => run(scenarios.find((s) => s.name === n)!);
  const plan = (r: ReturnType<typeof run>, reg: string) => r.registries.registries.find((p) => p.registry === reg)!;
  const codes = (r: ReturnType<typeof run>) => r.findings.map((f) => f.code);

  describe('semantics', () => {
    it('Talos duplicate [host] table: the file is ignored, pulls go upstream', () => {
      const r = byName('talos-cri-with-auth');
      expect(codes(r)).toContain('mirror-config-ignored');
      expect(r.findings.find((f) => f.code === 'mirror-config-ignored')!.message).toMatch(/docker\.io\/hosts\.toml:\d+:\d+: invalid TOML/);
      expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
      // config_path with configs.auth is allowed; the host_port_ directory is found for some.host:123
      expect(codes(r)).not.toContain('config-error');
      expect(r.findings.find((f) => f.code === 'legacy-mirror-config')?.message).toMatch(/^\/etc\/cri\/conf\.d\/cri\.toml uses deprecated registry\.configs\.\*\.auth \(some\.host:123\)/);
      expect(plan(r, 'some.host:123').endpoints.map((e) => e.url)).toEqual(['https://some.host:123', 'https://some.host:123']);
    });

    it('GCE: mirror.gcr.io resolves docker.io tags', () => {
      const r = byName('containerd-gce');
      expect(plan(r, 'docker.io')).toMatchObject({ resolvesTagsVia: 'https://mirror.gcr.io', mirrorResolves: true, mode: 'hosts' });
      expect(codes(r)).toContain('mirror-resolves-tags');
    });

    it('containerd docs: server docker.io with registry-1 as host is not a mirror', () => {
      expect(plan(byName('containerd-docs-hosts'), 'docker.io')).toMatchObject({ resolvesTagsVia: 'https://registry-1.docker.io', mirrorResolves: false });
      expect(plan(byName('containerd-docs-hosts'), 'quay.io').resolvesTagsVia).toBe('https://registry.example.com');
    });

    it('local mirror doc: the pull-only mirror is skipped for tags, the resolve mirror answers', () => {
      const p = plan(byName('containerd-docs-local-mirror'), 'docker.io');
      expect(p.endpoints.map((e) => [e.url, e.capabilities.join(',')])).toEqual([
        ['https://public-mirror.example.com', 'pull'],
        ['https://docker-mirror.internal', 'pull,resolve'],
        ['https://registry-1.docker.io', 'pull,resolve,push'],
      ]);
      expect(p.resolvesTagsVia).toBe('https://docker-mirror.internal');
    });

    it('spegel: three mirrors in file order, then the server', () => {
      expect(plan(byName('spegel'), 'foo.bar:5000').endpoints.map((e) => e.url)).toEqual([
        'http://127.0.0.1:5000', 'http://127.0.0.2:5000', 'http://127.0.0.1:5001', 'http://foo.bar:5000',
      ]);
    });

    it('legacy mirrors (kind 2022, minikube v1, k3s) are planned and flagged', () => {
      const kind = byName('kind-2022-legacy-mirrors');
      expect(plan(kind, 'k8s.gcr.io').mode).toBe('legacy-mirrors');
      expect(codes(kind)).toEqual(expect.arrayContaining(['legacy-mirror-config', 'mirror-resolves-tags']));
      expect(plan(byName('minikube-v1'), 'docker.io').mode).toBe('legacy-mirrors');
      const k3s = byName('k3s-legacy-mirrors-with-auth');
      expect(plan(k3s, 'docker.io').endpoints.map((e) => e.url)).toEqual(['https://registry.corp.example:5000', 'https://registry-1.docker.io']);
    });

    it('containerd 2.2.0 with legacy mirrors and the new default config_path: the CRI plugin fails', () => {
      expect(codes(byName('kind-2022-legacy-mirrors-on-2.2.0'))).toContain('config-error');
    });

    it('EKS: two-directory config_path; a CRI drop-in wipes it on 1.x; discard_unpacked_layers keeps 2.1 in local pull mode', () => {
      expect(plan(byName('eks-al2'), 'docker.io').resolvesTagsVia).toBe('https://mirror.gcr.io');
      const replaced = byName('eks-al2-dropin-replaces-cri');
      expect(replaced.findings.find((f) => f.code === 'mirror-config-ignored')?.message).toContain('replaced wholesale by the drop-in /etc/containerd/config.d/99-extra.toml');
      expect(plan(replaced, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
      const v3 = byName('eks-configv3-transfer');
      expect(codes(v3)).not.toContain('mirror-config-ignored');
      expect(plan(v3, 'docker.io').resolvesTagsVia).toBe('https://mirror.gcr.io');
    });

    it('the stock 2.x config on 2.2 (transfer service, default two-directory path) ignores hosts.toml', () => {
      const r = byName('containerd-docs-config-v3-default-on-2.2');
      expect(r.findings.find((f) => f.code === 'mirror-config-ignored')?.message).toContain('containerd#12808');
      expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
    });

    it('AKS: v3 plugin IDs in a version 2 file are read; override_path keeps the proxy path', () => {
      const r = byName('aks-containerd-v2');
      expect(r.registries.configPath.roots).toEqual([CERTS]);
      expect(plan(r, 'mcr.microsoft.com').resolvesTagsVia).toBe('https://myacr.azurecr.io/v2/mcr-proxy');
    });

    it('certs.d without config_path is reported as never read', () => {
      const r = byName('certs-d-without-config-path');
      expect(r.findings.find((f) => f.code === 'mirror-config-ignored')?.message).toContain('config_path is not set');
      expect(plan(r, 'docker.io').resolvesTagsVia).toBe('https://registry-1.docker.io');
    });

    it('containerd 2.2+ reads the default two-directory path when config_path is empty', () => {
      const r = byName('containerd-docs-config-v3-default-on-2.2');
      expect(r.registries.configPath).toEqual({ roots: ['/etc/containerd/certs.d', '/etc/docker/certs.d'], source: 'default (containerd >= 2.2)' });
    });
  });
});
