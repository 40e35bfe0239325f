import type { Finding } from '../domain/report.js';
import type { NodeSnapshot } from '../domain/snapshot.js';
import type { ContainerView, NodeIndex } from '../analyze/join.js';
import type { RegistryPlan } from '../domain/registry-config.js';

export interface AnalyzeOptions {
  /** Tags treated as mutable besides an absent tag; `*` matches any run of characters. */
  readonly mutableTagPatterns: readonly string[];
}

export const DEFAULT_MUTABLE_TAG_PATTERNS: readonly string[] = [
  'latest', 'main', 'master', 'develop', 'dev', 'edge', 'nightly', 'canary', 'stable',
  'head', 'prod', 'production', 'staging', 'snapshot', '*-latest', '*-snapshot',
];

/** Everything a check may read. Built once per analysis; checks never do I/O. */
export interface CheckContext {
  readonly snapshot: NodeSnapshot;
  readonly index: NodeIndex;
  readonly containers: readonly ContainerView[];
  readonly options: AnalyzeOptions;
  /** Resolution plan for every registry the node's config or workloads name (empty when not read). */
  readonly registryPlans: readonly RegistryPlan[];
}

export type Check = (ctx: CheckContext) => Finding[];
