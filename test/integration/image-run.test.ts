/**
 * tagdrift's own image, built daemonless (scripts/build-image.ts), pushed to the bed's
 * registry and run on the bed's real containerd through CRI exactly as kubelet would run
 * the DaemonSet that `kubectl kustomize` renders from deploy/ (with the README's `images`
 * override): testbed/manifest-pod.ts translates the rendered pod template into the CRI
 * requests (security context, hostPath and emptyDir volumes, env with the downward API,
 * args, ports, the service account token). The bed's node uses the real paths
 * (/etc/containerd, /run/containerd) inside containerd's mount namespace, and the
 * Kubernetes API is the bed's fake over TLS (there is no API server on these machines).
 *
 * Stand-ins, said here: no CNI (the pod shares the node's network namespace, so its port
 * is on the node's loopback and this test plays kubelet's prober); cgroups and AppArmor are
 * disabled in the bed's containerd, so resource limits are not applied.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, IMAGE_CONFIG, type BuiltImage } from '../../scripts/build-image.js';
import { TestBed } from '../../testbed/bed.js';
import { translatePod, type TranslatedPod } from '../../testbed/manifest-pod.js';
import { run, waitFor } from '../../testbed/proc.js';
import { overlay, type Obj } from '../helpers/kustomize.js';

let bed: TestBed;
let image: BuiltImage;
let imageRef: string;
let ds: Obj;
let v1: { manifestDigest: string; ref: string };
let v2: { manifestDigest: string };

beforeAll(async () => {
  image = buildImage();
  bed = await TestBed.start({ nodeName: 'image-node', nodeLayout: true });
  imageRef = `${bed.upstream.host}/tagdrift:${image.tag}`;
  await run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${image.layout}:${image.tag}`, `docker://${imageRef}`]);
  // As the first agent pod's IfNotPresent pull would, before any test changes the node's mirrors.
  await bed.kubelet.pull(imageRef);
  // The incident: shop/web:1.0 runs v1.0.0 (IfNotPresent), then CI re-pushes 1.0 as v1.0.1.
  v1 = await bed.publish('shop/web', '1.0', { version: '1.0.0', revision: 'a1b2c3d' });
  await bed.kubelet.runPod({
    namespace: 'shop', name: 'web-7d9c6b5f4-x5p6z', owner: { kind: 'ReplicaSet', name: 'web-7d9c6b5f4', templateHash: '7d9c6b5f4' },
    containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'IfNotPresent' }],
  });
  v2 = await bed.publish('shop/web', '1.0', { version: '1.0.1', revision: 'f00dfee' });
  // The README's install: its overlay, with the bed's registry for <your-registry> (and one
  // directory deeper, where the test keeps its overlays).
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /<!-- install-agent -->[\s\S]*?<<'YAML'\n([\s\S]*?)\nYAML\n[\s\S]*?<!-- \/install-agent -->/.exec(readme);
  if (!block) throw new Error("README's install-agent block has no overlay");
  const rendered = overlay(block[1]!.replaceAll('<your-registry>', bed.upstream.host).replace('../deploy', '../../deploy'));
  ds = rendered.find((o) => o.kind === 'DaemonSet')!;
}, 300_000);

afterAll(async () => {
  await bed?.stop();
}, 120_000);

function translate(): TranslatedPod {
  const uid = randomUUID();
  const podName = `tagdrift-${uid.slice(0, 5)}`;
  const nodePaths: Record<string, string> = { '/run/containerd': bed.containerd.runDir, '/etc/containerd': bed.containerd.etcDir };
  return translatePod(ds['spec'].template, ds.metadata.namespace!, {
    nodeName: bed.nodeName,
    podName,
    uid,
    hostPath: (p) => {
      const onBed = nodePaths[p];
      if (!onBed) throw new Error(`the bed has no node path ${p}`);
      return onBed;
    },
    podDir: join(bed.dir, 'pods', uid),
    logDirectory: join(bed.dir, 'pod-logs', `tagdrift_${podName}_${uid}`),
    serviceAccount: { token: 'agent-service-account-token', caCert: bed.kube.caCert! },
    kubernetesService: { host: '127.0.0.1', port: bed.kube.port },
  });
}

const agentUrl = (pod: TranslatedPod) => `http://127.0.0.1:${pod.containers[0]!.ports['http']}`;
/** The probe URL as kubelet builds it from the rendered probe (path, and port by name). */
const probeUrl = (pod: TranslatedPod, kind: 'readiness' | 'liveness') => {
  const c = pod.containers[0]!;
  return `http://127.0.0.1:${kind === 'readiness' ? c.readinessPort : c.livenessPort}${kind === 'readiness' ? c.readinessPath : c.livenessPath}`;
};
async function get(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
}

/** The agent's process on this machine (found by its command line). */
function agentPid(): number {
  const pids = readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').startsWith(`${IMAGE_CONFIG.entrypoint.join(' ')} agent`);
    } catch {
      return false;
    }
  });
  if (pids.length !== 1) throw new Error(`expected one agent process, found ${pids.length}`);
  return Number(pids[0]);
}

function status(pid: number): Record<string, string> {
  return Object.fromEntries(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

describe("the project's image under the rendered DaemonSet, on containerd via CRI", () => {
  it('the image is the one the builder describes: config, /app entries, size within budget', () => {
    const config = JSON.parse(spawnSync('skopeo', ['inspect', '--config', `oci:${image.layout}:${image.tag}`], { encoding: 'utf8' }).stdout) as { config: { Entrypoint: string[]; Cmd: string[]; User: string; WorkingDir: string; Env: string[]; ExposedPorts: object; Labels: Record<string, string> } };
    expect(config.config.Entrypoint).toEqual(IMAGE_CONFIG.entrypoint);
    expect(config.config.Cmd).toEqual(IMAGE_CONFIG.cmd);
    expect(config.config.User).toBe(IMAGE_CONFIG.user);
    expect(config.config.WorkingDir).toBe(IMAGE_CONFIG.workingDir);
    expect(Object.keys(config.config.ExposedPorts)).toEqual(IMAGE_CONFIG.exposedPorts);
    expect(config.config.Labels['org.opencontainers.image.version']).toBe(image.tag);
    expect(config.config.Labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$|^unknown$/);
    const appLayer = join(image.layout, 'blobs', 'sha256', image.layers[1]!.digest.slice(7));
    const entries = new Set(spawnSync('tar', ['tzf', appLayer], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout.split('\n').map((e) => e.replace(/^\.\//, '')).filter((e) => e.startsWith('app/') && e.split('/').length === 2 || /^app\/[^/]+\/$/.test(e)).map((e) => e.split('/')[1]!).filter(Boolean));
    expect([...entries].sort()).toEqual([...IMAGE_CONFIG.appEntries].sort());
    const dev = spawnSync('tar', ['tzf', appLayer], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout.split('\n').filter((e) => /^\.?\/?app\/node_modules\/(vitest|typescript|tsx|fast-check)\//.test(e));
    expect(dev, 'no development dependencies').toEqual([]);
    expect(image.compressedBytes).toBeLessThanOrEqual(80 * 1024 * 1024);
  });

  it('leaves out @kubernetes/client-node (kubeconfig only), and its own code says so when given a kubeconfig', () => {
    const appLayer = join(image.layout, 'blobs', 'sha256', image.layers[1]!.digest.slice(7));
    const listing = spawnSync('tar', ['tzf', appLayer], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout;
    expect(listing).toMatch(/app\/node_modules\/fastify\//);
    expect(listing).not.toMatch(/app\/node_modules\/@kubernetes\//);
    const dir = mkdtempSync(join(tmpdir(), 'tagdrift-app-'));
    try {
      expect(spawnSync('tar', ['xzf', appLayer, '-C', dir]).status).toBe(0);
      const api = join(dir, 'app', 'dist', 'src', 'adapters', 'kube', 'api.js');
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(api)}); const r = await m.loadKubeApi('/dev/null'); console.log(r.kind + ': ' + r.message);`], { encoding: 'utf8' });
      expect(r.stdout).toContain('not-configured: --kubeconfig needs the optional package @kubernetes/client-node');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGTERM while a registry hangs mid-scan: the agent exits 0 within the grace period', async () => {
    // A mirror that accepts connections and never answers, first in the node's chain.
    const held: Socket[] = [];
    const hang: Server = createServer((s) => held.push(s));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    const hangUrl = `http://127.0.0.1:${(hang.address() as { port: number }).port}`;
    bed.containerd.writeRoutes([{ host: bed.upstream.host, serverUrl: bed.upstream.url, mirrors: [{ url: hangUrl, capabilities: ['pull', 'resolve'] }] }]);
    const pod = translate();
    try {
      const { sandboxId, containerIds } = await bed.kubelet.runTranslated(pod);
      const id = containerIds['agent']!;
      await waitFor('the agent to ask the hanging mirror', () => held.length > 0, 60_000);
      const stopAt = process.hrtime.bigint();
      await bed.kubelet.stopContainer(id, pod.terminationGracePeriodSeconds);
      const st = await bed.kubelet.containerStatus(id);
      expect(st.state).toBe('CONTAINER_EXITED');
      expect(st.exitCode, 'exit code (137 = killed at the end of the grace period)').toBe(0);
      const tookMs = Number(process.hrtime.bigint() - stopAt) / 1e6;
      expect(tookMs).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
      await bed.kubelet.deleteSandbox(sandboxId);
    } finally {
      for (const s of held) s.destroy();
      hang.close();
      bed.containerd.writeRoutes([{ host: bed.upstream.host, serverUrl: bed.upstream.url }]);
    }
  }, 180_000);

  describe('a running agent pod', () => {
    let pod: TranslatedPod;
    let containerId: string;
    let sandboxId: string;

    beforeAll(async () => {
      pod = translate();
      ({ sandboxId, containerIds: { agent: containerId } } = (await bed.kubelet.runTranslated(pod)) as { sandboxId: string; containerIds: { agent: string } });
      await waitFor('/readyz 200 from the agent pod', async () => (await get(probeUrl(pod, 'readiness'))).status === 200, 90_000);
    }, 120_000);

    afterAll(async () => {
      if (sandboxId) await bed.kubelet.deleteSandbox(sandboxId).catch(() => undefined);
    });

    it('runs with a read-only root filesystem, no capabilities, no_new_privs and the runtime default seccomp profile', () => {
      const pid = agentPid();
      const s = status(pid);
      expect(s['CapEff']).toBe('0000000000000000');
      expect(s['CapPrm']).toBe('0000000000000000');
      expect(s['CapBnd']).toBe('0000000000000000');
      expect(s['NoNewPrivs']).toBe('1');
      expect(s['Uid']!.split(/\s+/)[0]).toBe('0');
      // 2 = filter mode: containerd applied its RuntimeDefault profile.
      expect(s['Seccomp']).toBe('2');
      const root = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')!;
      expect(root.split(' ')[5]!.split(',')).toContain('ro');
      const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').map((l) => l.split(' ')).filter((f) => f.length > 5);
      const at = (p: string) => mounts.find((f) => f[4] === p);
      expect(at('/run/containerd')?.[5]?.split(',')).toContain('ro');
      expect(at('/host/etc/containerd')?.[5]?.split(',')).toContain('ro');
      expect(at('/tmp')?.[5]?.split(',')).toContain('rw');
    });

    it('answers /v1/findings with the incident: shop/web runs a digest its tag no longer points to', async () => {
      const res = await get(`${agentUrl(pod)}/v1/findings`);
      expect(res.status).toBe(200);
      const findings = (res.body.findings ?? res.body) as { code: string; severity: string; subject?: string; evidence?: Record<string, unknown>; message: string }[];
      const web = findings.filter((f) => f.message.includes('shop/web:1.0'));
      expect(web.map((f) => f.code)).toContain('running-stale');
      const stale = web.find((f) => f.code === 'running-stale')!;
      expect(stale.severity).toBe('critical');
      expect(JSON.stringify(stale)).toContain(v1.manifestDigest);
      expect(JSON.stringify(stale)).toContain(v2.manifestDigest);
      // Control: the agent's own image was pushed once and never moved.
      expect(findings.filter((f) => f.message.includes('tagdrift/tagdrift') && /running-(stale|superseded)/.test(f.code))).toEqual([]);
      const report = (await get(`${agentUrl(pod)}/v1/report`)).body;
      expect(report.node).toBe(bed.nodeName);
      expect(report.sources.pods.ok, 'pod intent through the in-cluster client').toBe(true);
    });

    it('containerd restarted under the running pod: not ready while it is down, ready again within 30 s, the pod never restarted', async () => {
      await bed.containerd.kill();
      await waitFor('/readyz 503 while containerd is down', async () => (await get(probeUrl(pod, 'readiness'))).status === 503, 30_000);
      // containerd removes the old socket and listens on a new one (a new inode).
      await bed.containerd.restart();
      const started = Date.now();
      await waitFor('/readyz 200 after the containerd restart', async () => (await get(probeUrl(pod, 'readiness'))).status === 200, 30_000);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect((await get(probeUrl(pod, 'liveness'))).status).toBe(200);
      await waitFor('the bed kubelet to reconnect', () => bed.kubelet.containerStatus(containerId).then((s) => s.state === 'CONTAINER_RUNNING'), 20_000);
    }, 90_000);

    it('SIGTERM: exits 0 within the grace period', async () => {
      const stopAt = Date.now();
      await bed.kubelet.stopContainer(containerId, pod.terminationGracePeriodSeconds);
      const st = await bed.kubelet.containerStatus(containerId);
      expect(st.exitCode).toBe(0);
      expect(Date.now() - stopAt).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
    }, 60_000);
  });
});
