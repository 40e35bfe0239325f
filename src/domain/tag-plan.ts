/**
 * Which tags to verify this cycle, and where (pure). The (registry, repository, tag)
 * triples are the tags running containers asked for (pod intent) and the tags cached
 * on the node, deduplicated. Each is asked along the chain containerd walks for this
 * node (its resolve-capable hosts in order, `server` last), and of the registry
 * itself as the reference; an endpoint in both is asked once.
 */
import { refName, tryParseImageRef } from './image-ref.js';
import type { EndpointRole } from './tag-truth.js';
import type { PlannedEndpoint, RegistryPlan } from './registry-config.js';
import type { ImageRecord } from './snapshot.js';
import { digestForName, type ContainerView } from './join.js';
import { isUpstreamUrl } from './registry-plan.js';

export interface TagTarget {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string;
  /** Digests the node has for this tag: what containers run and what the cache holds. */
  readonly localDigests: readonly string[];
  /** Image IDs (config digests) the node has for this tag: what decides "same image" for an index. */
  readonly localImageIds: readonly string[];
  /** A running container asked for this tag (such tags are checked before cached-only ones). */
  readonly running: boolean;
}

export interface ChainHop {
  readonly role: EndpointRole;
  readonly endpoint: PlannedEndpoint;
}

export interface TagCheckPlan {
  readonly target: TagTarget;
  /** The hosts containerd tries for a tag resolve, in order (those with `resolve`; duplicates once). */
  readonly chain: readonly ChainHop[];
  /** The registry itself: the plan's final entry (`server`, or the default upstream). */
  readonly upstream: PlannedEndpoint;
}

/** The resolve chain and the reference endpoint of one registry plan. */
export function tagEndpoints(plan: RegistryPlan): Pick<TagCheckPlan, 'chain' | 'upstream'> {
  const upstream = plan.endpoints[plan.endpoints.length - 1]!;
  const seen = new Set<string>();
  const chain: ChainHop[] = [];
  for (const endpoint of plan.endpoints) {
    if (!endpoint.capabilities.includes('resolve') || seen.has(endpoint.url)) continue;
    seen.add(endpoint.url);
    chain.push({ role: endpoint.url === upstream.url || isUpstreamUrl(endpoint.url, plan.registry) ? 'upstream' : 'mirror', endpoint });
  }
  return { chain, upstream };
}

export function planTagChecks(
  containers: readonly ContainerView[],
  images: readonly ImageRecord[],
  planFor: (registry: string) => RegistryPlan,
): TagCheckPlan[] {
  const targets = new Map<string, { registry: string; repository: string; tag: string; digests: Set<string>; ids: Set<string>; running: boolean }>();
  const add = (registry: string, repository: string, tag: string, digest: string | undefined, imageId: string | undefined, running: boolean): void => {
    const key = `${registry}/${repository}:${tag}`;
    let t = targets.get(key);
    if (!t) {
      t = { registry, repository, tag, digests: new Set(), ids: new Set(), running };
      targets.set(key, t);
    }
    t.running ||= running;
    if (digest) t.digests.add(digest);
    if (imageId) t.ids.add(imageId);
  };
  for (const c of containers) {
    const r = c.requested;
    if (c.record.state !== 'running' || !r || r.digest || !r.tag) continue;
    add(r.registry, r.repository, r.tag, c.runningDigest, c.imageId, true);
  }
  for (const image of images) {
    if (image.pinned) continue; // sandbox images kubelet keeps; they run no workload code
    for (const t of image.repoTags) {
      const ref = tryParseImageRef(t);
      if (!ref?.tag || ref.digest) continue;
      add(ref.registry, ref.repository, ref.tag, digestForName(image, refName(ref)), image.id, false);
    }
  }
  const plans = new Map<string, RegistryPlan>();
  return [...targets.values()]
    .sort((a, b) => `${a.registry}/${a.repository}:${a.tag}`.localeCompare(`${b.registry}/${b.repository}:${b.tag}`))
    .map((t) => {
      let plan = plans.get(t.registry);
      if (!plan) {
        plan = planFor(t.registry);
        plans.set(t.registry, plan);
      }
      return {
        target: { registry: t.registry, repository: t.repository, tag: t.tag, localDigests: [...t.digests].sort(), localImageIds: [...t.ids].sort(), running: t.running },
        ...tagEndpoints(plan),
      };
    });
}

/**
 * At most `max` tags per scan: every running container's tag first, then cached-only
 * tags from a window that moves with `rotation`, so on a node with more cached tags
 * than the cap each is still asked within a few scans. Returns what to ask and how
 * many were left for later.
 */
export function capTagChecks(plans: readonly TagCheckPlan[], max: number, rotation: number): { plans: TagCheckPlan[]; deferred: number } {
  if (plans.length <= max) return { plans: [...plans], deferred: 0 };
  const running = plans.filter((p) => p.target.running);
  const cached = plans.filter((p) => !p.target.running);
  const room = Math.max(0, max - running.length);
  const start = cached.length === 0 ? 0 : (rotation * room) % cached.length;
  const window = [...cached.slice(start), ...cached.slice(0, start)].slice(0, room);
  const chosen = [...running.slice(0, max), ...window];
  return { plans: chosen, deferred: plans.length - chosen.length };
}
