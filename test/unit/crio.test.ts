/**
 * CRI-O nodes, through the built CLI on real files and real sockets: a CRI fake that answers
 * as CRI-O does (`runtime_name: cri-o`), registries.conf and a drop-in under --host-root, and
 * two fake registries on loopback (the registry and a mirror that still answers an old digest).
 * No CRI-O package exists for these machines, so no real CRI-O is run (see the README).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCrioRegistries } from '../../src/runtimes/crio/read.js';
import { memoryHostFiles } from '../../src/adapters/node-files/host-files.js';
import { planCrioRegistry } from '../../src/runtimes/crio/plan.js';
import type { Report } from '../../src/domain/report.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { FakeCri, fakeDigest } from '../fakes/fake-cri.js';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { runCli } from '../helpers/cli.js';
import { writeNodeTree } from '../helpers/node-tree.js';
import { overlay } from '../helpers/kustomize.js';

const NAME = 'registry.example:5000';
const MT = 'application/vnd.oci.image.manifest.v1+json';
const manifest = (seed: string) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: fakeDigest(`cfg-${seed}`), size: 2 }, layers: [], annotations: { seed } }));

const base = mkdtempSync(join(tmpdir(), 'tagdrift-crio-'));
const upstream = new FakeRegistry();
const mirror = new FakeRegistry();
const kube = new FakeKubeApi();
let oldDigest: string;
let newDigest: string;

beforeAll(async () => {
  await upstream.start();
  await mirror.start();
  await kube.start();
  oldDigest = mirror.putManifest('shop/web', manifest('v1'), MT, '1.0');
  upstream.putManifest('shop/web', manifest('v1'), MT);
  newDigest = upstream.putManifest('shop/web', manifest('v2'), MT, '1.0');
  kube.writeKubeconfig(join(base, 'kubeconfig'));
  kube.upsertPod({
    metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', ownerReferences: [{ kind: 'StatefulSet', name: 'web', controller: true }] },
    spec: { nodeName: 'n1', containers: [{ name: 'web', image: `${NAME}/shop/web:1.0`, imagePullPolicy: 'IfNotPresent' }] },
    status: { containerStatuses: [{ name: 'web', containerID: 'cri-o://c1' }] },
  });
});

afterAll(async () => {
  await upstream.stop();
  await mirror.stop();
  await kube.stop();
  rmSync(base, { recursive: true, force: true });
});

async function crioNode(runtimeName: string, files: Record<string, string>) {
  const cri = await new FakeCri()
    .withVersion({ runtimeName, runtimeVersion: '1.33.2' })
    .withImages({ id: fakeDigest('cfg-v1'), repoTags: [`${NAME}/shop/web:1.0`], repoDigests: [`${NAME}/shop/web@${oldDigest}`], size: 1 })
    .withContainers({ id: 'c1', podSandboxId: 's1', name: 'web', imageId: fakeDigest('cfg-v1'), state: 'CONTAINER_RUNNING', pod: { name: 'web-1', namespace: 'shop', uid: 'u1' } })
    .start();
  const root = writeNodeTree(base, `${runtimeName}-${Object.keys(files).length}-${Math.random().toString(36).slice(2, 7)}`, files);
  try {
    const r = await runCli(['scan', '--runtime-endpoint', cri.endpoint, '--kubeconfig', join(base, 'kubeconfig'), '--node-name', 'n1', '--host-root', root, '-o', 'json'], {}, 30_000);
    return JSON.parse(r.stdout) as Report;
  } finally {
    await cri.stop();
  }
}

const withMirror = () => ({
  '/etc/containers/registries.conf': `unqualified-search-registries = ["docker.io"]\n\n[[registry]]\nprefix = "${NAME}"\nlocation = "${upstream.host}"\ninsecure = true\n`,
  // The drop-in replaces the entry of the same prefix, adding the mirror.
  '/etc/containers/registries.conf.d/50-mirror.conf': `[[registry]]\nprefix = "${NAME}"\nlocation = "${upstream.host}"\ninsecure = true\n\n[[registry.mirror]]\nlocation = "${mirror.host}"\ninsecure = true\n`,
});

describe('CRI-O nodes', () => {
  it('a resolving mirror that answers an old digest: mirror-stale and running-stale, planned from registries.conf', async () => {
    const report = await crioNode('cri-o', withMirror());
    expect(report.registries?.layout).toMatchObject({ id: 'cri-o' });
    expect(report.registries?.filesRead).toEqual(['/etc/containers/registries.conf', '/etc/containers/registries.conf.d/50-mirror.conf']);
    const plan = report.registries?.registries.find((p) => p.registry === NAME);
    expect(plan?.endpoints.map((e) => e.url)).toEqual([mirror.url, upstream.url]);
    expect(plan?.resolvesTagsVia).toBe(mirror.url);
    const codes = report.findings.map((f) => f.code);
    expect(codes).toContain('mirror-stale');
    expect(codes).toContain('running-stale');
    expect(codes).not.toContain('config-not-found');
    const stale = report.findings.find((f) => f.code === 'mirror-stale')!;
    expect(JSON.stringify(stale.evidence)).toContain(newDigest);
  });

  it('no mirrors: no mirror finding; the running container is still checked upstream', async () => {
    const report = await crioNode('cri-o', { '/etc/containers/registries.conf': `[[registry]]\nprefix = "${NAME}"\nlocation = "${upstream.host}"\ninsecure = true\n` });
    const codes = report.findings.map((f) => f.code);
    expect(codes.filter((c) => c.startsWith('mirror-'))).toEqual([]);
    expect(codes).toContain('running-stale');
  });

  it('a runtime that is neither containerd nor CRI-O: one clear finding, no containerd rules applied', async () => {
    const report = await crioNode('docker', withMirror());
    expect(report.findings.filter((f) => f.code === 'runtime-unsupported')).toHaveLength(1);
    expect(report.findings.map((f) => f.code)).not.toContain('config-not-found');
    expect(report.registries).toBeUndefined();
  });

  it('the cri-o component mounts the socket directory and /etc/containers where the agent looks', () => {
    const ds = overlay('resources: [../../deploy]\ncomponents: [../../deploy/components/cri-o]\n').find((o) => o.kind === 'DaemonSet')!;
    const c = ds['spec'].template.spec.containers[0];
    const volumes = ds['spec'].template.spec.volumes as { name: string; hostPath?: { path: string } }[];
    const mountOf = (hostPath: string) => (c.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[]).find((m) => m.name === volumes.find((v) => v.hostPath?.path === hostPath)?.name);
    expect(mountOf('/etc/containers')).toMatchObject({ mountPath: '/host/etc/containers', readOnly: true });
    expect(mountOf('/var/run/crio')).toMatchObject({ mountPath: '/var/run/crio', readOnly: true });
    expect((c.env as { name: string; value?: string }[]).find((e) => e.name === 'TAGDRIFT_RUNTIME_ENDPOINT')?.value).toBe('unix:///var/run/crio/crio.sock');
  });

  it('plans as containers/image does: digest-only mirrors never resolve tags, a blocked registry is never asked, drop-ins replace by prefix', () => {
    const read = readCrioRegistries(memoryHostFiles({
      '/etc/containers/registries.conf': '[[registry]]\nprefix = "quay.io"\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "cache.lan"\npull-from-mirror = "digest-only"\n[[registry.mirror]]\nlocation = "mirror.lan"\n\n[[registry]]\nprefix = "blocked.example"\nblocked = true\n[[registry.mirror]]\nlocation = "m.lan"\n',
      '/etc/containers/registries.conf.d/10-x.conf': '[[registry]]\nprefix = "ghcr.io"\nlocation = "ghcr.io"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "ghcr-cache.lan"\n',
      '/etc/containers/registries.conf.d/99-bad.conf': '[[registry]\nprefix = ',
    }), '1.33.2');
    expect(read.problems.map((p) => p.file)).toEqual(['/etc/containers/registries.conf.d/99-bad.conf']);
    const quay = planCrioRegistry('quay.io', read);
    expect(quay.endpoints.map((e) => [e.url, e.capabilities.join(',')])).toEqual([['https://cache.lan', 'pull'], ['https://mirror.lan', 'pull,resolve'], ['https://quay.io', 'pull,resolve']]);
    expect(quay.resolvesTagsVia).toBe('https://mirror.lan');
    expect(planCrioRegistry('blocked.example', read).endpoints.map((e) => e.url)).toEqual(['https://m.lan']);
    const ghcr = planCrioRegistry('ghcr.io', read);
    expect(ghcr).toMatchObject({ resolvesTagsVia: 'https://ghcr.io', mirrorResolves: false });
    expect(planCrioRegistry('docker.io', read)).toMatchObject({ resolvesTagsVia: 'https://registry-1.docker.io', mirrorResolves: false });
  });
});
