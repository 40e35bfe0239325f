/** What every check is given (the snapshot, its views, the runtime's registry view, the truth per tag) and what it returns. */
import type { Finding } from '../domain/report.js';
import type { NodeSnapshot } from '../domain/snapshot.js';
import type { ContainerView, NodeIndex } from '../domain/join.js';
import type { RegistryPlan } from '../domain/registry-config.js';
import type { RegistryView } from '../runtimes/profile.js';
import type { TagResolved, TagTruth } from '../domain/tag-truth.js';
import type { ImageRecord } from '../domain/snapshot.js';


export interface AnalyzeOptions {
  /** Tags treated as mutable besides an absent tag; `*` matches any run of characters. */
  readonly mutableTagPatterns: readonly string[];
}


/** Everything a check may read. Built once per analysis; checks never do I/O. */
export interface CheckContext {
  readonly snapshot: NodeSnapshot;
  readonly index: NodeIndex;
  readonly containers: readonly ContainerView[];
  readonly options: AnalyzeOptions;
  /** The node's registry configuration through its runtime's profile (absent when not read). */
  readonly registry?: RegistryView;
  /** Resolution plan for every registry the node's config or workloads name (empty when not read). */
  readonly registryPlans: readonly RegistryPlan[];
  /** Registry answers per normalised `name:tag` (empty when registries were not asked). */
  readonly truth: ReadonlyMap<string, TagTruth>;
  /** The node's image holding `name@digest` for the answer (its digest or one of its platforms). */
  readonly nodeImageFor: (name: string, answer: TagResolved) => ImageRecord | undefined;
}

export type Check = (ctx: CheckContext) => Finding[];
