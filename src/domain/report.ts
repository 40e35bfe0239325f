/**
 * The Report: the one output of analysis, shared by the CLI, the HTTP API, the
 * metrics and the cluster view. `schemaVersion` changes only with a breaking change;
 * fields may be added.
 */
import type { FindingCode, Severity } from './finding-codes.js';
import type { EvidenceByCode } from './evidence.js';
import type { ContainerState, PodOwner, PullPolicy, RuntimeInfo } from './snapshot.js';
import type { RegistryPlan } from './registry-config.js';
import type { TagAnswer } from './tag-truth.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface ContainerRefInFinding {
  readonly namespace: string | undefined;
  readonly pod: string | undefined;
  readonly container: string;
}

interface FindingBase {
  readonly severity: Severity;
  readonly message: string;
  /** The normalised reference the pod asked for, when the finding is about an image. */
  readonly image: string | undefined;
  readonly containers: readonly ContainerRefInFinding[];
  readonly remediation: string;
  /**
   * For a finding drawn from registry answers: when the oldest of them was last confirmed, and,
   * when this scan could not ask a source again, which (the answer held through the failure).
   */
  readonly confirmed?: { readonly at: string; readonly heldThrough?: readonly string[] };
  /**
   * Set when every pod the finding names silences its code (annotation `tagdrift.dev/silence`):
   * still reported, but counted in no summary, exit code, metric or Event.
   */
  readonly silenced?: { readonly by: string };
}

/** A finding of one code, with that code's evidence (domain/evidence.ts). */
export type FindingOf<C extends FindingCode> = FindingBase & { readonly code: C; readonly evidence: EvidenceByCode[C] };

/** Any finding: a union over the catalogue, so narrowing on `code` types the evidence. */
export type Finding = { [C in FindingCode]: FindingOf<C> }[FindingCode];

export interface ReportImage {
  readonly id: string;
  readonly repoTags: readonly string[];
  readonly repoDigests: readonly string[];
  readonly size: number;
}

export interface ReportContainer {
  readonly id: string;
  readonly namespace: string | undefined;
  readonly pod: string | undefined;
  /** The pod's UID (from the pod, or the runtime's io.kubernetes.pod.uid label). */
  readonly podUid?: string;
  readonly container: string;
  /** Normalised reference the pod asked for (undefined when unknown). */
  readonly image: string | undefined;
  /** Where `image` came from: the pod spec, or CRI fields when the API was not available. */
  readonly imageSource: 'pod-spec' | 'cri' | 'unknown';
  readonly imageId: string | undefined;
  /** The repo digest of the image the container runs (`sha256:…`). */
  readonly runningDigest: string | undefined;
  readonly state: ContainerState;
  readonly pullPolicy: PullPolicy | undefined;
  readonly owner: PodOwner | undefined;
}

export interface SourceStatus {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly error?: { readonly kind: string; readonly message: string };
}

export interface Report {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly node: string;
  /** The node's platform (`linux/amd64`); absent in reports of older agents. */
  readonly platform?: string;
  readonly generatedAt: string;
  /** Null when the runtime could not be asked. */
  readonly runtime: RuntimeInfo | null;
  /** Whether pod intent came from the Kubernetes API or the scan ran on CRI evidence alone. */
  readonly intentSource: 'kubernetes' | 'cri-only';
  readonly sources: {
    readonly runtime: SourceStatus;
    readonly images: SourceStatus;
    readonly containers: SourceStatus;
    readonly pods: SourceStatus;
    readonly registryConfig?: SourceStatus;
  };
  readonly images: readonly ReportImage[];
  readonly containers: readonly ReportContainer[];
  /** How this node resolves tags per registry; absent when the configuration was not read. */
  readonly registries?: RegistriesSection;
  /** What each checked tag points to now, per endpoint; absent when registries were not asked. */
  readonly registryTruth?: readonly TagAnswer[];
  /** Cached-only tags left for later scans by the per-scan cap (`--registry-max-tags`). */
  readonly registryTagsDeferred?: number;
  readonly findings: readonly Finding[];
  readonly summary: Readonly<Record<Severity, number>>;
}

export interface RegistriesSection {
  /** containerd version whose rules were applied, and where it came from. */
  readonly rules: string;
  /** The node layout (k3s, RKE2, …) the configuration was read as, and how it was decided. */
  readonly layout?: { readonly id: string; readonly name: string; readonly source: 'flag' | 'detected' | 'not-found' };
  readonly configFile: string;
  /** Every configuration file read (the root file, then its imports). */
  readonly filesRead?: readonly string[];
  readonly configPath: { readonly roots: readonly string[]; readonly source: string };
  readonly registries: readonly RegistryPlan[];
}
