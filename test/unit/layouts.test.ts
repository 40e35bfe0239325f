/**
 * Every distribution's node layout, as the agent sees it through the DaemonSet that
 * `kubectl kustomize` renders (the base for the containerd default, plus the distribution's
 * component): only the directories the rendered pod mounts are visible under /host. Through
 * the agent's own code path (layout detection, config read, registry plan), the mirror that
 * resolves docker.io tags must be found, the runtime endpoint must lie in a mounted
 * directory, and the report must say which layout and files it read. Without the component
 * on a k3s node, the agent must say it found no configuration — never a silent "no findings".
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryHostFiles } from '../../src/adapters/node-files/host-files.js';
import { readContainerdConfig } from '../../src/runtimes/containerd/profile.js';
import { NODE_LAYOUTS } from '../../src/domain/node-layouts.js';
import { analyzeRegistryConfig } from '../../src/report/analyze.js';
import { overlay, type Obj } from '../helpers/kustomize.js';

const FIXTURES = new URL('../fixtures/layouts/', import.meta.url).pathname;
const COMPONENT: Record<string, string | undefined> = { k3s: 'k3s', rke2: 'rke2', microk8s: 'microk8s', k0s: 'k0s', talos: 'talos', 'eks-al2023': undefined, bottlerocket: undefined, gke: undefined, aks: undefined };

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function nodeFiles(name: string): Record<string, string> {
  const root = join(FIXTURES, name, 'root');
  return Object.fromEntries(walk(root).map((p) => [`/${relative(root, p)}`, readFileSync(p, 'utf8')]));
}

/** The node's files as the pod sees them: hostPath volumes mounted under /host, the rest invisible. */
function podView(ds: Obj, files: Record<string, string>): { files: Record<string, string>; mounts: { hostPath: string; mountPath: string }[] } {
  const spec = ds['spec'].template.spec;
  const c = spec.containers[0];
  const mounts = (spec.volumes as { name: string; hostPath?: { path: string } }[])
    .filter((v) => v.hostPath)
    .map((v) => ({ hostPath: v.hostPath!.path, mountPath: (c.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === v.name)!.mountPath }));
  const hostRoot = (c.env as { name: string; value?: string }[]).find((e) => e.name === 'TAGDRIFT_HOST_ROOT')!.value!;
  const visible: Record<string, string> = {};
  for (const [p, text] of Object.entries(files)) {
    for (const m of mounts) {
      if (p.startsWith(`${m.hostPath}/`) && m.mountPath.startsWith(`${hostRoot}/`)) visible[`${m.mountPath.slice(hostRoot.length)}${p.slice(m.hostPath.length)}`] = text;
    }
  }
  return { files: visible, mounts };
}

function render(component: string | undefined): Obj {
  const body = `resources: [../../deploy]\n${component ? `components: [../../deploy/components/${component}]\n` : ''}`;
  return overlay(body).find((o) => o.kind === 'DaemonSet')!;
}

describe('distribution layouts through the rendered DaemonSet', () => {
  const names = readdirSync(FIXTURES).filter((n) => existsSync(join(FIXTURES, n, 'layout.json'))).sort();

  it('covers every distribution of the fact sheet, each named in SOURCES.md', () => {
    expect(names).toEqual(Object.keys(COMPONENT).sort());
    const sources = readFileSync(join(FIXTURES, 'SOURCES.md'), 'utf8');
    for (const n of names) expect(sources).toContain(`| ${n} |`);
  });

  it.each(names)('%s: layout detected, its mirror found, its socket mounted', (name) => {
    const meta = JSON.parse(readFileSync(join(FIXTURES, name, 'layout.json'), 'utf8')) as { runtimeVersion: string; resolvingMirror: string };
    const ds = render(COMPONENT[name]);
    const view = podView(ds, nodeFiles(name));
    const read = readContainerdConfig(memoryHostFiles(view.files), { hostRoot: '/', runtimeVersion: meta.runtimeVersion }, undefined);
    const expected = NODE_LAYOUTS.find((l) => l.id === (COMPONENT[name] ?? 'containerd'))!;
    expect(read.layout).toMatchObject({ id: expected.id, source: 'detected' });
    const { registries, findings } = analyzeRegistryConfig({ runtime: 'containerd', read }, ['docker.io']);
    expect(findings.map((f) => f.code)).not.toContain('config-not-found');
    expect(registries.registries.find((p) => p.registry === 'docker.io')?.resolvesTagsVia).toBe(meta.resolvingMirror.replace(/\/$/, ''));
    expect(registries.layout?.id).toBe(expected.id);
    expect(registries.filesRead?.[0]).toBe(expected.configFile);
    // The runtime endpoint the pod uses is the layout's socket, inside a mounted directory.
    const endpoint = (ds['spec'].template.spec.containers[0].env as { name: string; value?: string }[]).find((e) => e.name === 'TAGDRIFT_RUNTIME_ENDPOINT')!.value!.replace(/^unix:\/\//, '');
    expect(endpoint).toBe(expected.socket);
    expect(view.mounts.some((m) => endpoint.startsWith(`${m.mountPath}/`) && m.mountPath === m.hostPath)).toBe(true);
  });

  it('a k3s node with the base DaemonSet (no k3s component): a config-not-found finding, not silence', () => {
    const view = podView(render(undefined), nodeFiles('k3s'));
    const read = readContainerdConfig(memoryHostFiles(view.files), { hostRoot: '/', runtimeVersion: '2.0.5-k3s1' }, undefined);
    expect(read.layout?.source).toBe('not-found');
    const { findings } = analyzeRegistryConfig({ runtime: 'containerd', read }, ['docker.io']);
    const f = findings.find((x) => x.code === 'config-not-found');
    expect(f?.severity).toBe('warning');
    expect(f?.message).toContain('/var/lib/rancher/k3s/agent/etc/containerd/config.toml');
  });

  it('--containerd-config wins over detection', () => {
    const files = memoryHostFiles({ ...nodeFiles('k3s'), '/srv/custom/config.toml': 'version = 2\n' });
    const read = readContainerdConfig(files, { hostRoot: '/', configFile: '/srv/custom/config.toml', runtimeVersion: '1.7.20' }, undefined);
    expect(read.layout).toMatchObject({ source: 'flag' });
    expect(read.config.config.file).toBe('/srv/custom/config.toml');
  });
});
