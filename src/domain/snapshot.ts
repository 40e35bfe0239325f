/**
 * NodeSnapshot: everything the adapters observed on one node in one scan, as
 * plain JSON-serialisable data. Analysis reads only this (no I/O, no clock), so
 * a snapshot saved from a real node is a complete test fixture.
 *
 * Each source is an Outcome: a value, or a classified error — never both, and an
 * error is never mistaken for "nothing there".
 */
import type { WorkloadManager } from './gitops.js';

import type { RegistryConfigSnapshot, RuntimeVersion } from './registry-config.js';
import type { TagAnswer } from './tag-truth.js';

import type { NodeRegistryConfig } from '../runtimes/profile.js';

export interface SourceError<K extends string = string> {
  readonly kind: K;
  /** Human-readable; never contains credentials or file contents. */
  readonly message: string;
}

export type Outcome<T, K extends string = string> =
  | { readonly ok: true; readonly value: T; readonly durationMs: number }
  | { readonly ok: false; readonly error: SourceError<K>; readonly durationMs: number };

/** Why the CRI runtime could not be used. */
export type RuntimeErrorKind =
  | 'socket-missing'
  | 'permission-denied'
  | 'not-cri-v1'
  | 'timeout'
  | 'unavailable'
  | 'error';

/** Why pod intent could not be read from the Kubernetes API. */
export type KubeErrorKind = 'not-configured' | 'unauthorized' | 'forbidden' | 'unreachable' | 'timeout' | 'error';

export interface RuntimeInfo {
  readonly name: string;
  readonly version: string;
  readonly apiVersion: string;
}

export interface ImageRecord {
  /** Node-local image ID: `sha256:<config digest>`. */
  readonly id: string;
  readonly repoTags: readonly string[];
  /** `name@sha256:<manifest or index digest>` as stored at pull time. */
  readonly repoDigests: readonly string[];
  readonly size: number;
  readonly pinned: boolean;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface ContainerRecord {
  readonly id: string;
  readonly podSandboxId: string;
  readonly name: string;
  readonly attempt: number;
  readonly state: ContainerState;
  /** ISO time, when the runtime reported one. */
  readonly createdAt: string | undefined;
  /** `Container.image.image`: kubelet passes the image ID here, not the tag. */
  readonly imageSpec: string;
  /** `Container.image.user_specified_image` (kubelet ≥ 1.28; containerd 1.6 does not store it). */
  readonly userSpecifiedImage: string | undefined;
  /** `Container.image_ref`: the image ID on containerd, a digested ref on some runtimes. */
  readonly imageRef: string;
  /** `Container.image_id` (containerd ≥ 2.3). */
  readonly imageId: string | undefined;
  readonly podName: string | undefined;
  readonly podNamespace: string | undefined;
  readonly podUid: string | undefined;
}

export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

export interface PodOwner {
  readonly kind: string;
  readonly name: string;
}

export interface PodContainerIntent {
  readonly name: string;
  /** The image exactly as written in the pod spec. */
  readonly image: string;
  readonly imagePullPolicy: PullPolicy | undefined;
  readonly kind: 'container' | 'init' | 'ephemeral';
  /** Runtime container ID from the pod status, without the `containerd://` scheme. */
  readonly containerId: string | undefined;
  /** `status.containerStatuses[].imageID` as kubelet reported it. */
  readonly statusImageId: string | undefined;
}

export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string | undefined;
  /** The controller that owns the workload (ReplicaSet resolved to its Deployment when possible). */
  readonly owner: PodOwner | undefined;
  readonly containers: readonly PodContainerIntent[];
  /** Finding codes the pod's `tagdrift.dev/silence` annotation silences for its containers. */
  readonly silenced?: readonly string[];
  /** Set when this pod was listed but its object could not be read (why): its containers are judged from CRI alone. */
  readonly unread?: string;
}

/** Build metadata from an image config: OCI labels and `created`, nothing else. */
export interface ImageBuildMeta {
  readonly version?: string;
  readonly revision?: string;
  readonly created?: string;
  readonly source?: string;
}

/** containerd's registry configuration as read, and the runtime version whose rules were applied. */
export interface RegistryConfigRead {
  readonly version: RuntimeVersion;
  readonly config: RegistryConfigSnapshot;
  /** Which node layout the configuration was read as, and how that was decided. */
  readonly layout?: {
    readonly id: string;
    readonly name: string;
    /** `flag`: --containerd-config; `detected`: its file exists; `not-found`: no known file exists. */
    readonly source: 'flag' | 'detected' | 'not-found';
    /** Every configuration file looked for, when none was found. */
    readonly lookedFor?: readonly string[];
  };
}

export interface NodeSnapshot {
  readonly schemaVersion: 1;
  readonly node: string;
  /** The node's platform (`linux/amd64`): which child of an index it runs. */
  readonly platform?: string;
  /** When collection started (ISO); the report's `generatedAt`. */
  readonly collectedAt: string;
  readonly runtime: Outcome<RuntimeInfo, RuntimeErrorKind>;
  readonly images: Outcome<readonly ImageRecord[], RuntimeErrorKind>;
  readonly containers: Outcome<readonly ContainerRecord[], RuntimeErrorKind>;
  readonly pods: Outcome<readonly PodRecord[], KubeErrorKind>;
  /**
   * Set when the API listed no pod for this node name while the runtime runs Kubernetes pods:
   * where the API says some of those pods are scheduled (the node name the scan should use).
   */
  /**
   * GitOps controllers of the workloads a finding would fix, keyed `namespace/Kind/name`
   * (null: read, and managed by none; absent: not read).
   */
  readonly workloadManagers?: Readonly<Record<string, WorkloadManager | null>>;
  readonly podsElsewhere?: readonly { readonly namespace: string; readonly name: string; readonly node: string | undefined }[];
  /**
   * The node's registry configuration as its runtime's profile read it (containerd's config.toml and
   * hosts.toml, or CRI-O's registries.conf): one tagged value; absent when not collected.
   */
  readonly registryConfig?: Outcome<NodeRegistryConfig>;
  /** What each checked tag points to now, per endpoint; absent when registries were not asked. */
  readonly registryTruth?: readonly TagAnswer[];
  /** Tags not asked this scan because of the per-scan cap (asked in later scans). */
  readonly registryTagsDeferred?: number;
  /** Build metadata per image ID, fetched for images a finding is about. */
  readonly imageMeta: Readonly<Record<string, ImageBuildMeta>>;
}
