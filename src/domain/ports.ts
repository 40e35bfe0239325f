/**
 * Ports: the role-named interfaces the collector depends on. Each has a real
 * adapter (src/adapters/*) and a fake (test/fakes/*); one conformance suite runs
 * against both so the fake cannot drift from the real thing.
 */
import type {
  ContainerRecord,
  ImageBuildMeta,
  ImageRecord,
  KubeErrorKind,
  PodRecord,
  RuntimeErrorKind,
  RuntimeInfo,
} from './snapshot.js';
import type { PlannedEndpoint } from './registry-config.js';
import type { PlatformRead, TagResolved, TagUnverified } from './tag-truth.js';

/** A classified failure of a source; the collector turns it into an Outcome error. */
export class SourceFailure<K extends string = string> extends Error {
  constructor(
    readonly kind: K,
    message: string,
  ) {
    super(message);
    this.name = 'SourceFailure';
  }
}

export type RuntimeFailure = SourceFailure<RuntimeErrorKind>;
export type KubeFailure = SourceFailure<KubeErrorKind>;

/** Read-only view of the container runtime over CRI. Every method rejects with a RuntimeFailure. */
export interface RuntimeClient {
  /** Runtime name and version, and the CRI API version it speaks (must be `v1`). */
  version(): Promise<RuntimeInfo>;
  /** All images in the runtime's CRI namespace (`k8s.io` on containerd). */
  listImages(): Promise<ImageRecord[]>;
  /** All containers, in any state. */
  listContainers(): Promise<ContainerRecord[]>;
  /**
   * Build metadata (OCI version/revision/created/source labels) of one image, from
   * `ImageStatus(verbose)`; everything else in the image config is discarded.
   * Undefined when the runtime does not know the image or gives no config.
   */
  imageBuildMeta(imageId: string): Promise<ImageBuildMeta | undefined>;
  /** Releases the connection. */
  close(): void;
}

/** Pods scheduled to one node, as the Kubernetes API describes them. Rejects with a KubeFailure. */
export interface PodSource {
  listNodePods(nodeName: string): Promise<PodRecord[]>;
  /** The node one pod is scheduled on, as the API says (to explain a node name that matches no pod). */
  nodeOf?(namespace: string, name: string): Promise<string | undefined>;
  /** Labels and annotations of a workload (Deployment, StatefulSet, DaemonSet), or undefined when it cannot be read. */
  workloadMetadata?(namespace: string, kind: string, name: string): Promise<{ labels?: Record<string, unknown>; annotations?: Record<string, unknown> } | undefined>;
}

/**
 * What a tag points to now at one registry endpoint. Never rejects: every outcome,
 * failures included, is a classified value (src/adapters/registry/client.ts).
 */
export interface RegistryLookup {
  resolveTag(endpoint: PlannedEndpoint, registry: string, repository: string, tag: string): Promise<TagResolved | TagUnverified>;
  /** The image a node of this platform runs from `digest` (the index child containerd picks, its config digest). */
  platformImage(endpoint: PlannedEndpoint, registry: string, repository: string, digest: string): Promise<PlatformRead>;
  /** Build metadata of the image behind a digest (its config blob). */
  buildMeta(endpoint: PlannedEndpoint, registry: string, repository: string, digest: string): Promise<ImageBuildMeta | undefined>;
}
