/**
 * Plays kubelet against a real containerd: pulls per the pull policy, creates the
 * pod sandbox and containers *from the image ID* with `user_specified_image` and the
 * io.kubernetes.* labels, and publishes the matching pod object (spec and status,
 * container IDs included) in the fake Kubernetes API.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadFullCri } from './cri-full.js';
import type { FakeKubeApi, FakePod } from './kube-api.js';
import type { TranslatedPod } from './manifest-pod.js';

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly imagePullPolicy: PullPolicy;
  /** Pull credentials, as kubelet passes them from an imagePullSecret. */
  readonly auth?: { readonly username: string; readonly password: string };
}

export interface PodSpec {
  readonly namespace: string;
  readonly name: string;
  /** Controller: `{kind: 'ReplicaSet', name: 'web-7d9c'}` with `templateHash` makes it a Deployment's pod. */
  readonly owner?: { kind: string; name: string; templateHash?: string };
  readonly containers: readonly ContainerSpec[];
}

export interface RunningPod {
  readonly spec: PodSpec;
  readonly uid: string;
  readonly sandboxId: string;
  readonly containerIds: Record<string, string>;
  /** Image ID each container was created from. */
  readonly imageIds: Record<string, string>;
}

interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

type Cb = (err: grpc.ServiceError | null, res: any) => void;

export class Kubelet {
  private readonly runtime: grpc.Client;
  private readonly images: grpc.Client;

  constructor(
    endpoint: string,
    private readonly kube: FakeKubeApi,
    readonly nodeName: string,
    private readonly logDir: string,
  ) {
    const cri = loadFullCri();
    this.runtime = new cri.RuntimeService(endpoint, grpc.credentials.createInsecure());
    this.images = new cri.ImageService(endpoint, grpc.credentials.createInsecure(), { channelOverride: this.runtime.getChannel() });
  }

  private call<T>(client: grpc.Client, method: string, req: object, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      (client as any)[method](req, { deadline: Date.now() + timeoutMs }, ((err, res) =>
        err ? reject(new Error(`CRI ${method}: ${err.details || err.message}`)) : resolve(res as T)) as Cb);
    });
  }

  async version(): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }> {
    return this.call(this.runtime, 'Version', { version: 'v1' }, 5_000);
  }

  /** PullImage with the reference as written, like kubelet; returns the image ref containerd answers. */
  async pull(image: string, auth?: { username: string; password: string }): Promise<string> {
    const res = await this.call<{ imageRef: string }>(this.images, 'PullImage', { image: { image }, ...(auth ? { auth } : {}) });
    return res.imageRef;
  }

  async imageStatus(image: string): Promise<CriImage | undefined> {
    const res = await this.call<{ image: CriImage | null }>(this.images, 'ImageStatus', { image: { image } });
    return res.image ?? undefined;
  }

  async removeImage(image: string): Promise<void> {
    await this.call(this.images, 'RemoveImage', { image: { image } });
  }

  private async ensureImage(c: ContainerSpec): Promise<CriImage> {
    const present = await this.imageStatus(c.image);
    if (c.imagePullPolicy === 'Always' || (c.imagePullPolicy === 'IfNotPresent' && !present)) await this.pull(c.image, c.auth);
    const image = await this.imageStatus(c.image);
    if (!image) throw new Error(`image ${c.image} not present and pull policy ${c.imagePullPolicy}`);
    return image;
  }

  async runPod(spec: PodSpec): Promise<RunningPod> {
    const uid = randomUUID();
    const podLabels: Record<string, string> = {
      'io.kubernetes.pod.name': spec.name,
      'io.kubernetes.pod.namespace': spec.namespace,
      'io.kubernetes.pod.uid': uid,
    };
    const logDirectory = join(this.logDir, `${spec.namespace}_${spec.name}_${uid}`);
    mkdirSync(logDirectory, { recursive: true });
    const sandboxConfig = {
      metadata: { name: spec.name, uid, namespace: spec.namespace, attempt: 0 },
      logDirectory,
      labels: podLabels,
      // No CNI on the bed: node network, and no hostname (runc refuses one without a UTS namespace).
      linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'POD', ipc: 'POD' } } },
    };
    const resolved: CriImage[] = [];
    for (const c of spec.containers) resolved.push(await this.ensureImage(c));
    const { podSandboxId } = await this.call<{ podSandboxId: string }>(this.runtime, 'RunPodSandbox', { config: sandboxConfig });
    const containerIds: Record<string, string> = {};
    const imageIds: Record<string, string> = {};
    const statuses: object[] = [];
    for (const [i, c] of spec.containers.entries()) {
      const image = resolved[i]!;
      const { containerId } = await this.call<{ containerId: string }>(this.runtime, 'CreateContainer', {
        podSandboxId,
        config: {
          metadata: { name: c.name, attempt: 0 },
          // kubelet passes the image ID, and the pod's string as user_specified_image.
          image: { image: image.id, userSpecifiedImage: c.image },
          labels: { ...podLabels, 'io.kubernetes.container.name': c.name },
          annotations: { 'io.kubernetes.container.restartCount': '0' },
          logPath: `${c.name}/0.log`,
          linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
        },
        sandboxConfig,
      });
      await this.call(this.runtime, 'StartContainer', { containerId });
      containerIds[c.name] = containerId;
      imageIds[c.name] = image.id;
      statuses.push({
        name: c.name,
        containerID: `containerd://${containerId}`,
        image: image.repoTags[0] ?? c.image,
        imageID: image.repoDigests[0] ?? image.id,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: new Date().toISOString() } },
      });
    }
    this.kube.upsertPod(this.podObject(spec, uid, statuses));
    return { spec, uid, sandboxId: podSandboxId, containerIds, imageIds };
  }

  private podObject(spec: PodSpec, uid: string, containerStatuses: object[]): FakePod {
    const labels: Record<string, string> = { app: spec.name };
    if (spec.owner?.templateHash) labels['pod-template-hash'] = spec.owner.templateHash;
    return {
      metadata: {
        name: spec.name,
        namespace: spec.namespace,
        uid,
        labels,
        ownerReferences: spec.owner
          ? [{ apiVersion: 'apps/v1', kind: spec.owner.kind, name: spec.owner.name, uid: randomUUID(), controller: true }]
          : [],
      },
      spec: {
        nodeName: this.nodeName,
        containers: spec.containers.map((c) => ({ name: c.name, image: c.image, imagePullPolicy: c.imagePullPolicy })),
      },
      status: { phase: 'Running', containerStatuses },
    };
  }

  /**
   * Runs a pod translated from a rendered manifest (manifest-pod.ts): pulls per each
   * container's policy with the reference as written, then RunPodSandbox, CreateContainer
   * from the image ID (user_specified_image = the reference), StartContainer.
   */
  async runTranslated(pod: TranslatedPod): Promise<{ sandboxId: string; containerIds: Record<string, string> }> {
    const images: CriImage[] = [];
    for (const c of pod.containers) images.push(await this.ensureImage({ name: c.name, image: c.image, imagePullPolicy: c.imagePullPolicy as PullPolicy }));
    mkdirSync(pod.sandboxConfig['logDirectory'], { recursive: true });
    const { podSandboxId } = await this.call<{ podSandboxId: string }>(this.runtime, 'RunPodSandbox', { config: pod.sandboxConfig });
    const containerIds: Record<string, string> = {};
    for (const [i, c] of pod.containers.entries()) {
      const { containerId } = await this.call<{ containerId: string }>(this.runtime, 'CreateContainer', {
        podSandboxId,
        config: { ...c.config, image: { image: images[i]!.id, userSpecifiedImage: c.image } },
        sandboxConfig: pod.sandboxConfig,
      });
      await this.call(this.runtime, 'StartContainer', { containerId });
      containerIds[c.name] = containerId;
    }
    return { sandboxId: podSandboxId, containerIds };
  }

  /** Any CRI call as the runtime answers it (observation in tests: what this release really says). */
  raw<T = any>(service: 'runtime' | 'image', method: string, req: object = {}): Promise<T> {
    return this.call<T>(service === 'runtime' ? this.runtime : this.images, method, req, 10_000);
  }

  /** StopContainer with the pod's grace period: SIGTERM, then SIGKILL after `timeoutSeconds`. */
  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.call(this.runtime, 'StopContainer', { containerId, timeout: String(timeoutSeconds) }, (timeoutSeconds + 30) * 1000);
  }

  async containerStatus(containerId: string): Promise<{ state: string; exitCode: number; startedAt: bigint; finishedAt: bigint; reason: string }> {
    const res = await this.call<{ status: { state: string; exitCode: number; startedAt: string; finishedAt: string; reason: string } }>(this.runtime, 'ContainerStatus', { containerId }, 10_000);
    return { state: res.status.state, exitCode: res.status.exitCode, startedAt: BigInt(res.status.startedAt), finishedAt: BigInt(res.status.finishedAt), reason: res.status.reason };
  }

  async deleteSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, 'StopPodSandbox', { podSandboxId }, 30_000);
    await this.call(this.runtime, 'RemovePodSandbox', { podSandboxId }, 30_000);
  }

  async deletePod(pod: RunningPod): Promise<void> {
    await this.call(this.runtime, 'StopPodSandbox', { podSandboxId: pod.sandboxId });
    await this.call(this.runtime, 'RemovePodSandbox', { podSandboxId: pod.sandboxId });
    this.kube.deletePod(pod.spec.namespace, pod.spec.name);
  }

  /** Best effort: stop and remove every sandbox (used at teardown). */
  async removeAllPods(): Promise<void> {
    const res = await this.call<{ items: { id: string }[] }>(this.runtime, 'ListPodSandbox', {}, 5_000).catch(() => ({ items: [] }));
    for (const s of res.items) {
      await this.call(this.runtime, 'StopPodSandbox', { podSandboxId: s.id }, 10_000).catch(() => undefined);
      await this.call(this.runtime, 'RemovePodSandbox', { podSandboxId: s.id }, 10_000).catch(() => undefined);
    }
  }

  close(): void {
    this.runtime.close();
    this.images.close();
  }
}
