/**
 * Asks registries what each planned tag points to now. Requests beyond the tag
 * lookups are made only where they explain a difference: the children of an index
 * (a container may run one platform of it) and the registry image's build metadata,
 * both only when the answer is a digest the node does not have, and never to Docker
 * Hub (HEAD only there).
 */
import { INDEX_MEDIA_TYPES, type TagAnswer, type TagResolved } from '../domain/registry-truth.js';
import type { TagCheckPlan } from '../analyze/tag-plan.js';
import type { RegistryLookup } from './ports.js';
import { isDockerHubHost } from '../domain/image-ref.js';

/** At most this many registry build-metadata lookups per scan. */
export const MAX_REGISTRY_META = 32;

export async function collectRegistryTruth(plans: readonly TagCheckPlan[], lookup: RegistryLookup): Promise<TagAnswer[]> {
  let metaBudget = MAX_REGISTRY_META;
  const perPlan = await Promise.all(
    plans.map(async ({ target, endpoints }) => {
      const answers = await Promise.all(
        endpoints.map(async ({ role, endpoint }): Promise<TagAnswer> => {
          let result = await lookup.resolveTag(endpoint, target.registry, target.repository, target.tag);
          if (result.ok && target.localDigests.length > 0 && !target.localDigests.includes(result.digest) && !isDockerHub(endpoint.url)) {
            result = await explain(result, lookup, endpoint, target, role === 'upstream' && metaBudget-- > 0);
          }
          return { registry: target.registry, repository: target.repository, tag: target.tag, role, endpoint: endpoint.url, result };
        }),
      );
      return answers;
    }),
  );
  return perPlan.flat();
}

/**
 * Docker Hub is asked with HEAD only: manifest GETs count against its pull limits
 * (docs.docker.com "usage and limits"), so its differences are reported without the
 * index's children or the registry's build labels.
 */
export function isDockerHub(endpointUrl: string): boolean {
  try {
    return isDockerHubHost(new URL(endpointUrl).hostname);
  } catch {
    return false;
  }
}

async function explain(
  result: TagResolved,
  lookup: RegistryLookup,
  endpoint: Parameters<RegistryLookup['resolveTag']>[0],
  target: TagCheckPlan['target'],
  withMeta: boolean,
): Promise<TagResolved> {
  let out = result;
  if (!out.children && out.mediaType && INDEX_MEDIA_TYPES.has(out.mediaType)) {
    const children = await lookup.listChildren(endpoint, target.registry, target.repository, out.digest);
    if (children) out = { ...out, children };
  }
  // A local digest that is one of the index's platforms is the same content: nothing to explain.
  if (out.children?.some((c) => target.localDigests.includes(c))) return out;
  if (withMeta) {
    const build = await lookup.buildMeta(endpoint, target.registry, target.repository, out.digest);
    if (build && Object.keys(build).length > 0) out = { ...out, build };
  }
  return out;
}
