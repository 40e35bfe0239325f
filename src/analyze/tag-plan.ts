/**
 * Which tags to verify this cycle, and where (pure). The (registry, repository, tag)
 * triples are the tags running containers asked for (pod intent) and the tags cached
 * on the node, deduplicated; each is asked of the endpoint that resolves tags for
 * this node and of upstream, once when they are the same.
 */
import { refName, tryParseImageRef } from '../domain/image-ref.js';
import type { EndpointRole } from '../domain/registry-truth.js';
import type { PlannedEndpoint, RegistryPlan } from '../domain/registry-config.js';
import type { ImageRecord } from '../domain/snapshot.js';
import { digestForName, type ContainerView } from './join.js';

export interface TagTarget {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string;
  /** Digests the node has for this tag: what containers run and what the cache holds. */
  readonly localDigests: readonly string[];
  /** A running container asked for this tag (such tags are checked before cached-only ones). */
  readonly running: boolean;
}

export interface TagCheckPlan {
  readonly target: TagTarget;
  readonly endpoints: readonly { readonly role: EndpointRole; readonly endpoint: PlannedEndpoint }[];
}

/** The endpoint that answers tags for this node, and upstream when that is a mirror. */
export function tagEndpoints(plan: RegistryPlan): TagCheckPlan['endpoints'] {
  const resolver = plan.endpoints.find((e) => e.url === plan.resolvesTagsVia) ?? plan.endpoints[plan.endpoints.length - 1]!;
  const upstream = plan.endpoints[plan.endpoints.length - 1]!;
  if (!plan.mirrorResolves || resolver.url === upstream.url) return [{ role: 'upstream', endpoint: resolver }];
  return [
    { role: 'mirror', endpoint: resolver },
    { role: 'upstream', endpoint: upstream },
  ];
}

export function planTagChecks(
  containers: readonly ContainerView[],
  images: readonly ImageRecord[],
  planFor: (registry: string) => RegistryPlan,
): TagCheckPlan[] {
  const targets = new Map<string, { registry: string; repository: string; tag: string; digests: Set<string>; running: boolean }>();
  const add = (registry: string, repository: string, tag: string, digest: string | undefined, running: boolean): void => {
    const key = `${registry}/${repository}:${tag}`;
    let t = targets.get(key);
    if (!t) {
      t = { registry, repository, tag, digests: new Set(), running };
      targets.set(key, t);
    }
    t.running ||= running;
    if (digest) t.digests.add(digest);
  };
  for (const c of containers) {
    const r = c.requested;
    if (c.record.state !== 'running' || !r || r.digest || !r.tag) continue;
    add(r.registry, r.repository, r.tag, c.runningDigest, true);
  }
  for (const image of images) {
    if (image.pinned) continue; // sandbox images kubelet keeps; they run no workload code
    for (const t of image.repoTags) {
      const ref = tryParseImageRef(t);
      if (!ref?.tag || ref.digest) continue;
      add(ref.registry, ref.repository, ref.tag, digestForName(image, refName(ref)), false);
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
        target: { registry: t.registry, repository: t.repository, tag: t.tag, localDigests: [...t.digests].sort(), running: t.running },
        endpoints: tagEndpoints(plan),
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
