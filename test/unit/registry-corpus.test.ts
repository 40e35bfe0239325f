/**
 * Every file of ../shared/corpus (real configs from kind, k3s, EKS, AKS, GKE, minikube,
 * Talos, spegel and containerd's docs; templates rendered with plausible values) laid
 * out as a node's files, planned, and compared with a golden file
 * (UPDATE_GOLDEN=1 rewrites them). Key semantics are also asserted directly.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryHostFiles } from '../../src/adapters/containerd/host-files.js';
import { analyzeRegistryConfig } from '../../src/analyze/analyze.js';
import { collectRegistryConfig } from '../../src/collect/collect.js';
import { renderGoTemplate, renderShell } from '../helpers/gotemplate.js';

const CORPUS = process.env['TAGDRIFT_CORPUS_DIR'] ?? new URL('../../../shared/corpus/', import.meta.url).pathname;
if (!existsSync(join(CORPUS, 'SOURCES.md'))) {
  throw new Error(`corpus not found at ${CORPUS}: the shared/ folder belongs beside the repository (or set TAGDRIFT_CORPUS_DIR)`);
}
const GOLDEN = new URL('../golden/corpus/', import.meta.url).pathname;
const corpus = (p: string) => readFileSync(join(CORPUS, p), 'utf8');
export const CANARY = 'canary-SECRET-7f3a';
const CFG = '/etc/containerd/config.toml';
const CERTS = '/etc/containerd/certs.d';
const withCertsD = (version = 2) => `version = ${version}\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${CERTS}"\n`;

const eksAl2 = () => corpus('eks-ami/al2-containerd-config.toml').replace('SANDBOX_IMAGE', '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5');

const k3sData = {
  Program: 'k3s',
  NodeConfig: { Containerd: { Opt: '/var/lib/rancher/k3s/agent/containerd' }, SELinux: false, AgentConfig: { PauseImage: 'rancher/mirrored-pause:3.6', CNIBinDir: '/var/lib/rancher/k3s/data/bin', CNIConfDir: '/var/lib/rancher/k3s/agent/etc/cni/net.d' } },
  EnableUnprivileged: true,
  SystemdCgroup: false,
  PrivateRegistryConfig: {
    Mirrors: { 'docker.io': { Endpoints: ['https://registry.corp.example:5000'] } },
    Configs: { 'registry.corp.example:5000': { Auth: { Username: 'ci-bot', Password: CANARY, Auth: CANARY, IdentityToken: CANARY }, TLS: { CAFile: '/etc/ssl/corp-ca.pem' } } },
  },
};

interface Scenario {
  name: string;
  version: string;
  files: Record<string, string>;
  registries?: string[];
}

const scenarios: Scenario[] = [
  { name: 'containerd-docs-config-v3-default', version: '2.1.4', files: { [CFG]: corpus('containerd-docs/config-v3-default.toml') } },
  { name: 'containerd-docs-config-v3-default-on-2.2', version: '2.2.2', files: { [CFG]: corpus('containerd-docs/config-v3-default.toml'), '/etc/containerd/certs.d/docker.io/hosts.toml': corpus('containerd-gce/docker.io/hosts.toml') } },
  { name: 'containerd-testdata-default-1.7', version: '1.7.20', files: { [CFG]: corpus('containerd-testdata/default-1.7.toml') } },
  {
    name: 'containerd-gce',
    version: '1.7.20',
    files: {
      [CFG]: renderShell(corpus('containerd-gce/config.toml'), { registry_config_path: CERTS, log_level: 'info', max_container_log_line: '16384', systemdCgroup: 'true', CONTAINERD_HOME: '/home/containerd', cni_bin_dir: '/home/kubernetes/bin', cni_template_path: '/home/containerd/cni.template' }),
      [`${CERTS}/docker.io/hosts.toml`]: corpus('containerd-gce/docker.io/hosts.toml'),
    },
  },
  { name: 'kind', version: '1.7.20', files: { [CFG]: corpus('kind/config.toml') } },
  { name: 'kind-2022-legacy-mirrors', version: '1.6.20', files: { [CFG]: corpus('kind/config-2022-legacy-mirrors.toml') }, registries: ['k8s.gcr.io'] },
  { name: 'kind-2022-legacy-mirrors-on-2.2.0', version: '2.2.0', files: { [CFG]: corpus('kind/config-2022-legacy-mirrors.toml') }, registries: ['k8s.gcr.io'] },
  {
    name: 'kind-local-registry',
    version: '1.7.20',
    files: { [CFG]: withCertsD(), [`${CERTS}/localhost:5001/hosts.toml`]: renderShell(corpus('kind/localhost:5001/hosts.toml'), { reg_name: 'kind-registry' }) },
  },
  { name: 'k3s-legacy-mirrors-with-auth', version: '1.7.20', files: { [CFG]: renderGoTemplate(corpus('k3s/config.toml.v2.tmpl'), k3sData) } },
  {
    name: 'k3s-hosts',
    version: '1.7.20',
    files: {
      [CFG]: withCertsD(),
      [`${CERTS}/docker.io/hosts.toml`]: renderGoTemplate(corpus('k3s/hosts.toml.tmpl'), {
        Program: 'k3s',
        Host: 'registry-1.docker.io',
        Endpoints: [
          { URI: 'https://registry.corp.example:5000/v2', OverridePath: true, Config: { TLS: { CAFile: '/etc/ssl/corp-ca.pem', CertFile: '/etc/ssl/c.pem', KeyFile: '/etc/ssl/c.key' } }, Rewrites: { '^library/(.*)': 'mirror/$1' } },
          { URI: 'https://registry-1.docker.io', Config: {} },
        ],
      }),
    },
  },
  { name: 'eks-al2', version: '1.7.20', files: { [CFG]: eksAl2(), '/etc/containerd/config.d/10-opt.toml': '[plugins."io.containerd.internal.v1.opt"]\n  path = "/opt/containerd"\n', '/etc/docker/certs.d/docker.io/hosts.toml': corpus('containerd-gce/docker.io/hosts.toml') } },
  { name: 'eks-al2-dropin-replaces-cri', version: '1.7.20', files: { [CFG]: eksAl2(), '/etc/containerd/config.d/99-extra.toml': '[plugins."io.containerd.grpc.v1.cri".containerd]\n  discard_unpacked_layers = true\n', '/etc/docker/certs.d/docker.io/hosts.toml': corpus('containerd-gce/docker.io/hosts.toml') } },
  { name: 'eks-configv3-transfer', version: '2.1.4', files: { [CFG]: corpus('eks-ami/expected-containerd-configv3.toml'), [`${CERTS}/docker.io/hosts.toml`]: corpus('containerd-gce/docker.io/hosts.toml') } },
  { name: 'eks-nodeadm-config2', version: '2.1.4', files: { [CFG]: renderGoTemplate(corpus('eks-ami/nodeadm-config2.template.toml'), { SandboxImage: 'localhost/kubernetes/pause', EnableCDI: true, RuntimeName: 'runc', RuntimeBinaryName: '/usr/sbin/runc' }) } },
  { name: 'aks-containerd-1.x', version: '1.7.20', files: { [CFG]: renderGoTemplate(corpus('agentbaker/containerd.toml.gtpl'), { KubeBinaryConfig: { GetPodInfraContainerImageUrl: 'mcr.microsoft.com/oss/kubernetes/pause:3.6' }, GetKubernetesVersion: '1.29.0' }, { isKubernetesVersionGe: () => true }) } },
  {
    name: 'aks-containerd-v2',
    version: '2.0.5',
    files: {
      [CFG]: renderGoTemplate(corpus('agentbaker/containerd_v2.toml.gtpl'), { KubeBinaryConfig: { GetPodInfraContainerImageUrl: 'mcr.microsoft.com/oss/kubernetes/pause:3.6' }, GetKubernetesVersion: '1.31.0' }, { isKubernetesVersionGe: () => true }),
      [`${CERTS}/mcr.microsoft.com/hosts.toml`]: renderShell(corpus('agentbaker/mcr.microsoft.com/hosts.toml'), { CONTAINER_REGISTRY_URL: 'myacr.azurecr.io/v2/mcr-proxy/' }),
      [`${CERTS}/mcr.azk8s.cn/hosts.toml`]: renderShell(corpus('agentbaker/mcr.azk8s.cn/hosts.toml'), { TARGET_MCR_REPOSITORY_BASE: 'mcr.azure.cn', LEGACY_MCR_REPOSITORY_BASE: CANARY }),
    },
  },
  { name: 'minikube-v1', version: '1.6.20', files: { [CFG]: corpus('minikube/iso-config.toml') } },
  { name: 'talos-cri-with-auth', version: '1.7.20', files: { [CFG]: 'version = 2\nimports = ["/etc/cri/conf.d/cri.toml"]\n', '/etc/cri/conf.d/cri.toml': corpus('talos/cri.toml').replace(/"(root|secret|auth|token)"/g, `"${CANARY}"`), '/etc/cri/conf.d/hosts/some.host_123_/hosts.toml': corpus('talos/some.host_123_/hosts.toml'), '/etc/cri/conf.d/hosts/docker.io/hosts.toml': corpus('talos/docker.io/hosts.toml') }, registries: ['some.host:123'] },
  { name: 'containerd-docs-hosts', version: '2.0.5', files: { [CFG]: withCertsD(), [`${CERTS}/docker.io/hosts.toml`]: corpus('containerd-docs/docker.io/hosts.toml'), [`${CERTS}/_default/hosts.toml`]: corpus('containerd-docs/_default/hosts.toml') }, registries: ['quay.io'] },
  { name: 'containerd-docs-local-mirror', version: '2.0.5', files: { [CFG]: withCertsD(), [`${CERTS}/docker.io/hosts.toml`]: corpus('containerd-docs/docker.io-local-mirror/hosts.toml') } },
  { name: 'spegel', version: '2.1.4', files: { [CFG]: withCertsD(), [`${CERTS}/docker.io/hosts.toml`]: corpus('spegel/docker.io/hosts.toml'), [`${CERTS}/foo.bar:5000/hosts.toml`]: corpus('spegel/foo.bar:5000/hosts.toml') } },
  { name: 'certs-d-without-config-path', version: '1.7.20', files: { [CFG]: 'version = 2\n', [`${CERTS}/docker.io/hosts.toml`]: corpus('containerd-gce/docker.io/hosts.toml') } },
];

function run(s: Scenario) {
  const files = memoryHostFiles(s.files);
  const read = collectRegistryConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: s.version }, undefined);
  const { registries, findings } = analyzeRegistryConfig(read, ['docker.io', ...(s.registries ?? [])]);
  return { registries, findings: findings.map((f) => ({ code: f.code, severity: f.severity, message: f.message })) };
}

describe('corpus: every real-world config gives its golden plan', () => {
  it('uses every corpus file', () => {
    const used = new Set<string>();
    const src = readFileSync(new URL(import.meta.url).pathname, 'utf8');
    for (const m of src.matchAll(/corpus\('([^']+)'\)/g)) used.add(m[1]!);
    const all = readFileSync(join(CORPUS, 'SOURCES.md'), 'utf8').match(/^\| \d+ \| ([^ |]+)/gm)!.map((l) => l.split('| ')[2]!.trim());
    expect(all).toHaveLength(25);
    expect(all.filter((f) => !used.has(f))).toEqual([]);
  });

  it.each(scenarios.map((s) => [s.name, s] as const))('%s', (name, s) => {
    const result = run(s);
    const json = `${JSON.stringify(result, null, 2)}\n`;
    expect(json).not.toContain(CANARY);
    const golden = join(GOLDEN, `${name}.json`);
    if (process.env['UPDATE_GOLDEN'] || !existsSync(golden)) {
      if (process.env['CI']) throw new Error(`golden ${golden} missing in CI`);
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(golden, json);
    }
    expect(json).toBe(readFileSync(golden, 'utf8'));
  });
});

const byName = (n: string) => run(scenarios.find((s) => s.name === n)!);
const plan = (r: ReturnType<typeof run>, reg: string) => r.registries.registries.find((p) => p.registry === reg)!;
const codes = (r: ReturnType<typeof run>) => r.findings.map((f) => f.code);

describe('corpus semantics', () => {
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
