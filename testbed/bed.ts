/**
 * The test bed: a throwaway real node on loopback. A real containerd (CRI), a real
 * upstream registry, optionally a second registry usable as a mirror, a fake
 * Kubernetes API with a kubeconfig, and a kubelet stand-in. Everything lives in one
 * temp dir and is torn down by PID.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerdNode, type RegistryRoute } from './containerd.js';
import { release, type ReleaseName } from './releases.js';
import { buildImage, buildIndexImage, pushImage, pushIndex, type BuiltImage, type BuiltIndex, type ImageSpecInput, type IndexSpecInput } from './images.js';
import { FakeKubeApi } from './kube-api.js';
import { Kubelet } from './kubelet.js';
import { requireBinaries, run, waitFor } from './proc.js';
import { startRegistry, type NotificationTarget, type RunningRegistry } from './registry.js';

export interface TestBedOptions {
  readonly nodeName?: string;
  /** Start a second registry usable as a mirror. */
  readonly withMirror?: boolean;
  /** Route the upstream registry through the mirror with capabilities pull+resolve (hosts.toml). */
  readonly mirrorResolves?: boolean;
  /** CRI table in a drop-in imported by a relative or absolute glob (see ContainerdOptions). */
  readonly criDropIn?: 'relative-glob' | 'absolute-glob';
  /**
   * A node's own paths (/etc/containerd, /run/containerd) for containerd and the pods it
   * runs (see ContainerdOptions.nodePaths), and the Kubernetes API over TLS as pods
   * reach it. For running the agent's image as the DaemonSet does.
   */
  readonly nodeLayout?: boolean;
  /**
   * Lay the node out as k3s does (socket /run/k3s/containerd/containerd.sock, configuration under
   * /var/lib/rancher/k3s/agent/etc/containerd), in containerd's own mount namespace; commands run
   * there with containerd.nodeCommand see the node as an operator's shell on it does.
   */
  readonly k3sLayout?: boolean;
  /** Address the upstream registry listens on (default loopback): a routable one for a shared resolver. */
  readonly registryAddress?: string;
  /** The upstream registry announces pushes there (distribution's notifications). */
  readonly registryNotifications?: NotificationTarget;
  /** Reuse registries from another bed (several nodes, one registry). */
  /** Which real containerd release runs the node (default: TAGDRIFT_BED_CONTAINERD, else the system's 1.6.20). */
  readonly release?: ReleaseName;
  readonly shared?: { upstream: RunningRegistry; mirror?: RunningRegistry; sandboxImage: string };
}

export class TestBed {
  private stopped = false;
  private readonly ownsRegistries: boolean;

  private constructor(
    readonly dir: string,
    readonly nodeName: string,
    readonly upstream: RunningRegistry,
    readonly mirror: RunningRegistry | undefined,
    readonly sandboxImage: string,
    readonly containerd: ContainerdNode,
    readonly kube: FakeKubeApi,
    readonly kubelet: Kubelet,
    readonly kubeconfig: string,
    owns: boolean,
  ) {
    this.ownsRegistries = owns;
  }

  static async start(options: TestBedOptions = {}): Promise<TestBed> {
    requireBinaries(['runc', 'docker-registry', 'skopeo', 'gcc', 'tar']);
    if (process.getuid?.() !== 0) throw new Error('test bed: containerd needs root');
    const dir = mkdtempSync(join(tmpdir(), 'tagdrift-bed-'));
    const nodeName = options.nodeName ?? 'testbed-node';
    const cleanup: (() => Promise<void>)[] = [];
    try {
      let upstream = options.shared?.upstream;
      let mirror = options.shared?.mirror;
      let sandboxImage = options.shared?.sandboxImage;
      if (!upstream) {
        upstream = await startRegistry(dir, 'upstream', undefined, undefined, options.registryAddress, options.registryNotifications);
        cleanup.push(() => upstream!.stop());
        if (options.withMirror) {
          mirror = await startRegistry(dir, 'mirror');
          cleanup.push(() => mirror!.stop());
        }
        const pause = await buildImage(join(dir, 'images'), 'pause', { version: 'pause' });
        sandboxImage = `${upstream.host}/pause:3.9`;
        await pushImage(pause, sandboxImage);
      }
      const routes: RegistryRoute[] = [
        {
          host: upstream.host,
          serverUrl: upstream.url,
          ...(options.mirrorResolves && mirror ? { mirrors: [{ url: mirror.url, capabilities: ['pull', 'resolve'] }] } : {}),
        },
      ];
      const containerd = new ContainerdNode({ dir: join(dir, 'node'), sandboxImage: sandboxImage!, routes, ...(options.criDropIn ? { criDropIn: options.criDropIn } : {}), ...(options.nodeLayout ? { nodePaths: true } : options.k3sLayout ? { nodePaths: 'k3s' as const } : {}), release: release(options.release ?? (process.env['TAGDRIFT_BED_CONTAINERD'] as ReleaseName | undefined)) });
      cleanup.push(() => containerd.stop());
      await containerd.start();
      const kube = new FakeKubeApi();
      await kube.start(options.nodeLayout ? { tls: await selfSignedCert(join(dir, 'kube-tls'), 'kube-apiserver') } : {});
      cleanup.push(() => kube.stop());
      const kubeconfig = join(dir, 'kubeconfig');
      kube.writeKubeconfig(kubeconfig);
      const kubelet = new Kubelet(containerd.endpoint, kube, nodeName, join(dir, 'pod-logs'));
      await waitFor('CRI Version on the new containerd', async () => (await kubelet.version()).runtimeApiVersion === 'v1', 20_000);
      return new TestBed(dir, nodeName, upstream, mirror, sandboxImage!, containerd, kube, kubelet, kubeconfig, !options.shared);
    } catch (e) {
      for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Builds a fresh image (its own digests) and pushes it to `registry` as `repo:tag`. */
  async publish(repo: string, tag: string, spec: ImageSpecInput, registry: RunningRegistry = this.upstream): Promise<BuiltImage & { ref: string }> {
    const image = await buildImage(join(this.dir, 'images'), `${repo.replace(/\//g, '_')}-${spec.version}`, spec);
    const ref = `${registry.host}/${repo}:${tag}`;
    await pushImage(image, ref);
    return { ...image, ref };
  }

  /**
   * Builds a multi-platform index (this machine's runnable platform, another
   * architecture, a BuildKit-style attestation) and pushes it as `repo:tag` with all
   * its manifests. Equal inputs give equal digests, so one platform can be kept while
   * another, or only the attestation, changes.
   */
  async publishIndex(repo: string, tag: string, spec: IndexSpecInput, registry: RunningRegistry = this.upstream): Promise<BuiltIndex & { ref: string }> {
    const image = await buildIndexImage(join(this.dir, 'images'), `${repo.replace(/\//g, '_')}-idx`, spec);
    const ref = `${registry.host}/${repo}:${tag}`;
    await pushIndex(image, ref);
    return { ...image, ref };
  }

  /** Flags that point `tagdrift scan` at this bed (its runtime, API and config.toml). */
  scanArgs(): string[] {
    if (this.containerd.etcDir !== this.containerd.runDir) {
      throw new Error('scanArgs: a nodeLayout bed is scanned from inside a pod (its config names /etc/containerd paths)');
    }
    return [
      '--runtime-endpoint', this.containerd.endpoint, '--kubeconfig', this.kubeconfig, '--node-name', this.nodeName,
      '--containerd-config', this.containerd.configPath,
    ];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.kubelet.removeAllPods().catch(() => undefined);
    this.kubelet.close();
    await this.containerd.stop();
    await this.kube.stop();
    if (this.ownsRegistries) {
      await this.upstream.stop();
      await this.mirror?.stop();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A self-signed serving certificate for 127.0.0.1 (PEM), made with openssl. */
export async function selfSignedCert(dir: string, cn: string): Promise<{ cert: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}
