/**
 * The cluster report: every node's view merged. Schema version 1; fields may be
 * added, none removed or renamed.
 */
import type { Finding, Report } from './report.js';
import type { Severity } from './finding-codes.js';

export type NodeStatus = 'ok' | 'not-ready' | 'unreachable' | 'error' | 'no-agent';

export interface NodeResult {
  /** Node name (from the agent pod, else from the report). */
  readonly node: string;
  readonly status: NodeStatus;
  /** Where the report came from: `pod tagdrift/tagdrift-x7k2p (proxy)` or the endpoint URL. */
  readonly source: string;
  readonly error?: string;
  readonly report?: Report;
  readonly durationMs: number;
}

export interface ContainerAt {
  readonly node: string;
  readonly namespace: string | undefined;
  readonly pod: string | undefined;
  readonly container: string;
}

/** A finding as the cluster view holds it: on which nodes, and the containers with their node. */
export type ClusterFinding = Finding extends infer F
  ? F extends Finding
    ? Omit<F, 'containers'> & { readonly nodes: readonly string[]; readonly containers: readonly ContainerAt[] }
    : never
  : never;

export interface WorkloadGroup {
  /** `namespace/Kind/name`, or `namespace/Pod/name` for pods without a controller. */
  readonly workload: string;
  readonly image: string | undefined;
  readonly findings: readonly ClusterFinding[];
  readonly worst: Severity;
}

export interface PullPolicyRisk {
  readonly workload: string;
  readonly image: string;
  readonly pullPolicy: string;
  readonly nodes: readonly string[];
}

export interface ClusterReport {
  readonly schemaVersion: 1;
  readonly generatedAt: string;
  readonly nodes: readonly {
    readonly node: string;
    readonly status: NodeStatus;
    readonly source: string;
    readonly error?: string;
    readonly generatedAt?: string;
    readonly summary?: Readonly<Record<Severity, number>>;
    /** Registry answers in the node's report, and how many the shared resolver gave. */
    readonly registryAnswers?: { readonly total: number; readonly viaResolver: number };
  }[];
  /** Findings merged across nodes (digest-drift included), grouped by workload and image. */
  readonly groups: readonly WorkloadGroup[];
  /** Workloads that run a mutable tag with imagePullPolicy IfNotPresent (or unknown). */
  readonly pullPolicyRisk: readonly PullPolicyRisk[];
  readonly summary: Readonly<Record<Severity, number>> & { readonly nodes: number; readonly nodesOk: number };
}
