import type { TagAnswer } from '../../src/domain/tag-truth.js';
/** Builds NodeSnapshots for check tests: the same shape adapters produce from a real node. */
import type {
  ContainerRecord,
  ImageBuildMeta,
  ImageRecord,
  KubeErrorKind,
  NodeSnapshot,
  Outcome,
  PodRecord,
  PullPolicy,
  RuntimeErrorKind,
} from '../../src/domain/snapshot.js';
import { fakeDigest } from './fake-cri.js';

export class SnapshotBuilder {
  private readonly answers: TagAnswer[] = [];
  private images: ImageRecord[] = [];
  private containers: ContainerRecord[] = [];
  private pods: PodRecord[] = [];
  private runtimeError: { kind: RuntimeErrorKind; message: string } | undefined;
  private podsError: { kind: KubeErrorKind; message: string } | undefined;
  private meta: Record<string, ImageBuildMeta> = {};

  /** An image known as `tags` with manifest digest `sha256(seed)`. Returns its ID and digest. */
  image(seed: string, tags: string[], names?: string[]): { id: string; digest: string } {
    const id = fakeDigest(`id-${seed}`);
    const digest = fakeDigest(`manifest-${seed}`);
    const repoNames = names ?? tags.map((t) => t.slice(0, t.lastIndexOf(':')));
    this.images.push({ id, repoTags: tags, repoDigests: [...new Set(repoNames)].map((n) => `${n}@${digest}`), size: 1000, pinned: false });
    return { id, digest };
  }

  withMeta(imageId: string, meta: ImageBuildMeta): this {
    this.meta[imageId] = meta;
    return this;
  }

  /** A running container created the kubelet way (image ID), plus its pod in the API unless `apiless`. */
  pod(opts: {
    ns?: string;
    name: string;
    container?: string;
    image: string;
    imageId: string;
    policy?: PullPolicy;
    owner?: { kind: string; name: string };
    state?: ContainerRecord['state'];
    apiless?: boolean;
    userSpecifiedImage?: string;
  }): string {
    const id = `c-${opts.name}-${this.containers.length}`;
    const ns = opts.ns ?? 'default';
    const container = opts.container ?? 'app';
    this.containers.push({
      id,
      podSandboxId: `s-${opts.name}`,
      name: container,
      attempt: 0,
      state: opts.state ?? 'running',
      createdAt: '2026-01-01T00:00:00.000Z',
      imageSpec: opts.imageId,
      userSpecifiedImage: opts.userSpecifiedImage,
      imageRef: opts.imageId,
      imageId: undefined,
      podName: opts.name,
      podNamespace: ns,
      podUid: `uid-${opts.name}`,
    });
    if (!opts.apiless) {
      this.pods.push({
        namespace: ns,
        name: opts.name,
        uid: `uid-${opts.name}`,
        nodeName: 'node-1',
        owner: opts.owner,
        containers: [
          { name: container, image: opts.image, imagePullPolicy: opts.policy ?? 'IfNotPresent', kind: 'container', containerId: id, statusImageId: undefined },
        ],
      });
    }
    return id;
  }

  /** A registry answer for `name:tag` (registry/repository parsed from `name`). */
  /**
   * A registry answer. A mirror is a host of the resolve chain (position 0 unless
   * given); an upstream answer is the reference, and a chain host too when a
   * position is given.
   */
  answer(ref: string, role: 'upstream' | 'mirror', result: TagAnswer['result'], endpoint?: string, position?: number): this {
    const i = ref.lastIndexOf(':');
    const name = ref.slice(0, i);
    const slash = name.indexOf('/');
    const registry = name.slice(0, slash);
    this.answers.push({
      registry,
      repository: name.slice(slash + 1),
      tag: ref.slice(i + 1),
      role,
      ...(position !== undefined ? { position } : role === 'mirror' ? { position: 0 } : {}),
      endpoint: endpoint ?? (role === 'upstream' ? `https://${registry}` : 'https://mirror.example'),
      result,
    });
    return this;
  }

  runtimeFails(kind: RuntimeErrorKind, message = 'boom'): this {
    this.runtimeError = { kind, message };
    return this;
  }

  podsFail(kind: KubeErrorKind, message = 'nope'): this {
    this.podsError = { kind, message };
    return this;
  }

  build(): NodeSnapshot {
    const rt = <T>(value: T): Outcome<T, RuntimeErrorKind> =>
      this.runtimeError ? { ok: false, error: this.runtimeError, durationMs: 1 } : { ok: true, value, durationMs: 1 };
    return {
      schemaVersion: 1,
      node: 'node-1',
      collectedAt: '2026-11-22T12:00:00.000Z',
      runtime: rt({ name: 'containerd', version: 'v1.7.0', apiVersion: 'v1' }),
      images: rt(this.images),
      containers: rt(this.containers),
      pods: this.podsError ? { ok: false, error: this.podsError, durationMs: 1 } : { ok: true, value: this.pods, durationMs: 1 },
      imageMeta: this.meta,
      ...(this.answers.length > 0 ? { registryTruth: this.answers } : {}),
    };
  }
}
