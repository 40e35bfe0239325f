/**
 * The views every later stage reads of one snapshot: images indexed, containers joined with their
 * pods' intent, the runtime profile's view of the registry configuration, and the registry answers
 * per tag. Built once per scan (the scan builds it before asking the registries and hands it to
 * the analysis); pure.
 */
import { indexImages, joinContainers, type ContainerView, type NodeIndex } from '../domain/join.js';
import type { ImageRecord, NodeSnapshot } from '../domain/snapshot.js';
import { truthByTag, type TagResolved, type TagTruth } from '../domain/tag-truth.js';
import { registryView, type RegistryView } from '../runtimes/profile.js';

export interface SnapshotView {
  readonly index: NodeIndex;
  readonly containers: readonly ContainerView[];
  readonly registry: RegistryView | undefined;
  readonly truth: ReadonlyMap<string, TagTruth>;
  /** The node's image holding `name@digest` for the answer (its digest, one of its platforms, or the platform's config). */
  readonly nodeImageFor: (name: string, answer: TagResolved) => ImageRecord | undefined;
}

export function deriveView(snapshot: NodeSnapshot): SnapshotView {
  const base = baseView(snapshot);
  return withTruth(base, snapshot);
}

/** Everything but the registry answers (what the scan needs to plan its questions). */
export function baseView(snapshot: NodeSnapshot): Omit<SnapshotView, 'truth'> {
  const images = snapshot.images.ok ? snapshot.images.value : [];
  const index = indexImages(images);
  const containers = joinContainers(snapshot, index);
  const rc = snapshot.registryConfig;
  let byRepoDigest: Map<string, ImageRecord> | undefined;
  const nodeImageFor = (name: string, answer: TagResolved): ImageRecord | undefined => {
    if (!byRepoDigest) {
      byRepoDigest = new Map();
      for (const image of images) for (const rd of image.repoDigests) byRepoDigest.set(rd, image);
    }
    const byRd = byRepoDigest;
    const byDigest = [answer.digest, ...(answer.children ?? []), ...(answer.platformImage ? [answer.platformImage.manifest] : [])]
      .map((d) => byRd.get(`${name}@${d}`))
      .find((i) => i !== undefined);
    // The node may hold the platform's image under another index digest (a re-published index).
    return byDigest ?? (answer.platformImage ? index.imagesById.get(answer.platformImage.config) : undefined);
  };
  return { index, containers, registry: rc?.ok ? registryView(rc.value) : undefined, nodeImageFor };
}

export function withTruth(base: Omit<SnapshotView, 'truth'>, snapshot: NodeSnapshot): SnapshotView {
  return { ...base, truth: truthByTag(snapshot.registryTruth ?? []) };
}
