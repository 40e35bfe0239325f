/**
 * Node configuration scenarios for the registry-plan tests and `npm run golden`.
 *
 * Two sets: the project's own fixtures (test/fixtures/nodes/, written here, each naming the
 * public layout it mimics in SOURCES.md) always run; the external corpus of verbatim
 * real-world files (../shared/corpus, or TAGDRIFT_CORPUS_DIR) runs when it is present.
 * Goldens are plain files compared by the tests and written only by `npm run golden`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { memoryHostFiles } from '../../src/adapters/node-files/host-files.js';
import { analyzeRegistryConfig } from '../../src/report/analyze.js';
import { readContainerdConfig } from '../../src/runtimes/containerd/profile.js';
import { renderGoTemplate, renderShell } from '../helpers/gotemplate.js';

export const CANARY = 'canary-SECRET-7f3a';
export const CFG = '/etc/containerd/config.toml';
export const CERTS = '/etc/containerd/certs.d';
export const OWN_FIXTURES = new URL('../fixtures/nodes/', import.meta.url).pathname;
export const OWN_GOLDEN = process.env['TAGDRIFT_GOLDEN_DIR'] ?? new URL('../golden/nodes/', import.meta.url).pathname;
export const EXTERNAL_GOLDEN = new URL('../golden/corpus/', import.meta.url).pathname;
export const EXTERNAL_CORPUS = process.env['TAGDRIFT_CORPUS_DIR'] ?? new URL('../../../shared/corpus/', import.meta.url).pathname;
export const externalCorpusPresent = (): boolean => existsSync(join(EXTERNAL_CORPUS, 'SOURCES.md'));

export interface Scenario {
  name: string;
  version: string;
  files: Record<string, string>;
  registries?: string[];
  mimics?: string;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** test/fixtures/nodes/<name>/{scenario.json, root/…}: root/ is the node's filesystem. */
export function ownScenarios(): Scenario[] {
  return readdirSync(OWN_FIXTURES)
    .filter((name) => existsSync(join(OWN_FIXTURES, name, 'scenario.json')))
    .sort()
    .map((name) => {
      const meta = JSON.parse(readFileSync(join(OWN_FIXTURES, name, 'scenario.json'), 'utf8')) as { runtimeVersion: string; registries?: string[]; mimics: string };
      const root = join(OWN_FIXTURES, name, 'root');
      const files: Record<string, string> = {};
      for (const p of walk(root)) files[`/${relative(root, p)}`] = readFileSync(p, 'utf8');
      return { name, version: meta.runtimeVersion, files, mimics: meta.mimics, ...(meta.registries ? { registries: meta.registries } : {}) };
    });
}

/** The external corpus laid out as nodes' files (templates rendered with plausible values). */
export function externalScenarios(dir = EXTERNAL_CORPUS): Scenario[] {
  const corpus = (p: string) => readFileSync(join(dir, p), 'utf8');
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

  return [
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
}

/** The corpus files the external scenarios read, to check none is left out. */
export function externalFilesUsed(): Set<string> {
  const src = readFileSync(new URL(import.meta.url).pathname, 'utf8');
  return new Set([...src.matchAll(/corpus\('([^']+)'\)/g)].map((m) => m[1]!));
}

export function runScenario(s: Scenario) {
  const files = memoryHostFiles(s.files);
  const read = readContainerdConfig(files, { hostRoot: '/', configFile: CFG, runtimeVersion: s.version }, undefined);
  const { registries, findings } = analyzeRegistryConfig({ runtime: 'containerd', read }, ['docker.io', ...(s.registries ?? [])]);
  return { registries, findings: findings.map((f) => ({ code: f.code, severity: f.severity, message: f.message })) };
}

export const goldenText = (s: Scenario): string => `${JSON.stringify(runScenario(s), null, 2)}\n`;
