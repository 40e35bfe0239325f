/**
 * What else a scan reads once the node, its pods and the registries have answered, decided from
 * those answers (never from findings): build metadata (ImageStatus verbose) for the images a
 * running-, cache- or mirror- finding could be about, and who syncs (GitOps) the workloads whose
 * containers a restart would change. Pure; a superset of what findings end up naming, capped.
 */
import type { ContainerView, NodeIndex } from './join.js';
import { refName } from './image-ref.js';
import type { ImageRecord } from './snapshot.js';
import type { TagResolved, TagTruth } from './tag-truth.js';

/** At most this many ImageStatus(verbose) calls per scan, for build metadata. */
export const MAX_META_LOOKUPS = 32;
/** At most this many workloads asked about per scan, for who syncs them (GitOps). */
export const MAX_WORKLOAD_LOOKUPS = 16;

export interface WorkloadKey {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
}

export interface DetailPlan {
  readonly imageIds: readonly string[];
  readonly workloads: readonly WorkloadKey[];
}

/** The answer the node would pull by now (its resolver's), else the registry's own. */
function currentAnswer(t: TagTruth | undefined): TagResolved | undefined {
  for (const a of [t?.resolver, t?.upstream]) if (a?.result.ok) return a.result;
  return undefined;
}

function holds(image: ImageRecord | undefined, name: string, answer: TagResolved): boolean {
  if (!image) return false;
  const digests = [answer.digest, ...(answer.children ?? [])];
  return image.repoDigests.some((rd) => digests.some((d) => rd === `${name}@${d}`)) || image.id === answer.platformImage?.config;
}

export function planDetails(
  containers: readonly ContainerView[],
  index: NodeIndex,
  truth: ReadonlyMap<string, TagTruth>,
  nodeImageFor: (name: string, answer: TagResolved) => ImageRecord | undefined,
): DetailPlan {
  const ids = new Set<string>();
  const workloads = new Map<string, WorkloadKey>();
  const consider = (v: ContainerView) => {
    const ref = v.requested;
    if (!ref || ref.tag === undefined || ref.digest !== undefined || !v.imageId) return false;
    const name = refName(ref);
    const tag = `${name}:${ref.tag}`;
    let moved = false;
    const onNode = index.imageByTag.get(tag);
    if (onNode && onNode.id !== v.imageId) {
      ids.add(v.imageId).add(onNode.id);
      moved = true;
    }
    const answer = currentAnswer(truth.get(tag));
    if (answer && !holds(v.runningImage, name, answer)) {
      ids.add(v.imageId);
      const now = nodeImageFor(name, answer);
      if (now) ids.add(now.id);
      moved = true;
    }
    return moved;
  };
  for (const v of containers) {
    if (!consider(v)) continue;
    const ns = v.pod?.namespace ?? v.record.podNamespace;
    if (ns && v.owner && ['Deployment', 'StatefulSet', 'DaemonSet'].includes(v.owner.kind)) {
      workloads.set(`${ns}/${v.owner.kind}/${v.owner.name}`, { namespace: ns, kind: v.owner.kind, name: v.owner.name });
    }
  }
  // Cached tags whose answer moved: the cached image (cache-stale, mirror findings).
  for (const [tag, image] of index.imageByTag) {
    const answer = currentAnswer(truth.get(tag));
    if (answer && !holds(image, tag.slice(0, tag.lastIndexOf(':')), answer)) ids.add(image.id);
  }
  return { imageIds: [...ids].slice(0, MAX_META_LOOKUPS), workloads: [...workloads.values()].slice(0, MAX_WORKLOAD_LOOKUPS) };
}
