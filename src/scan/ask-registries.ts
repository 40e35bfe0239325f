/**
 * Asks registries what each planned tag points to now, the way containerd would:
 * the resolve-capable hosts in order until one answers (a host containerd passes
 * over on 404, refused auth, 5xx or a connection error is recorded and the next one
 * asked), plus the registry itself as the reference.
 *
 * Requests beyond the tag lookups are made only where they explain a difference:
 * the node platform's image behind an index (which child containerd would pick, and
 * its config digest, since an index digest also moves when another platform or an
 * attestation changes), and the registry image's build metadata. On Docker Hub,
 * where manifest GETs count as pulls, the platform read comes out of the client's
 * budget and build metadata is never fetched.
 */
import { compareAnswers, hostOutcome, isIndexAnswer, type TagAnswer, type TagResolved } from '../domain/tag-truth.js';
import type { ChainHop, TagCheckPlan } from '../domain/tag-plan.js';
import type { RegistryLookup } from '../domain/ports.js';
import { isDockerHubHost } from '../domain/image-ref.js';

/** At most this many registry build-metadata lookups per scan. */
export const MAX_REGISTRY_META = 32;

export async function collectRegistryTruth(plans: readonly TagCheckPlan[], lookup: RegistryLookup): Promise<TagAnswer[]> {
  const budget = { meta: MAX_REGISTRY_META };
  const perPlan = await Promise.all(plans.map((plan) => askPlan(plan, lookup, budget)));
  return perPlan.flat();
}

async function askPlan(plan: TagCheckPlan, lookup: RegistryLookup, budget: { meta: number }): Promise<TagAnswer[]> {
  const { target } = plan;
  const ask = async (hop: ChainHop, position: number | undefined): Promise<TagAnswer> => {
    const result = await lookup.resolveTag(hop.endpoint, target.registry, target.repository, target.tag);
    return {
      registry: target.registry, repository: target.repository, tag: target.tag,
      role: hop.role, ...(position !== undefined ? { position } : {}), endpoint: hop.endpoint.url, result,
    };
  };
  // The reference is asked at once; the client shares the request when the walk reaches the same endpoint.
  const reference = ask({ role: 'upstream', endpoint: plan.upstream }, undefined);
  const chain: TagAnswer[] = [];
  for (const [i, hop] of plan.chain.entries()) {
    const a = await ask(hop, i);
    chain.push(a);
    if (hostOutcome(a.result) !== 'skipped') break;
  }
  const upstream = await reference;
  const inChain = chain.findIndex((a) => a.endpoint === upstream.endpoint);
  const answers = inChain >= 0 ? chain : [...chain, upstream];

  // Explain the answers the verdicts are drawn from: the node's resolver and the reference.
  const resolverIndex = chain.findIndex((a) => hostOutcome(a.result) === 'answered');
  const refIndex = inChain >= 0 ? inChain : answers.length - 1;
  const resolver = resolverIndex >= 0 ? chain[resolverIndex]! : undefined;
  const ref = answers[refIndex]!;
  const differ = !!resolver && resolver.result.ok && ref.result.ok && compareAnswers(resolver.result, ref.result) !== 'same';
  const indexes = new Set([resolverIndex, refIndex].filter((i) => i >= 0));
  for (const i of indexes) {
    const a = answers[i]!;
    if (!a.result.ok) continue;
    const hop = a === ref ? plan.upstream : plan.chain[a.position!]!.endpoint;
    answers[i] = { ...a, result: await explain(a.result, lookup, hop, target, differ, a === ref && budget.meta-- > 0) };
  }
  return answers;
}

async function explain(
  result: TagResolved,
  lookup: RegistryLookup,
  endpoint: TagCheckPlan['upstream'],
  target: TagCheckPlan['target'],
  differsAcrossEndpoints: boolean,
  withMeta: boolean,
): Promise<TagResolved> {
  const known = target.localDigests.includes(result.digest) || (result.children?.some((c) => target.localDigests.includes(c)) ?? false);
  const hasLocal = target.localDigests.length > 0 || target.localImageIds.length > 0;
  if (known || (!hasLocal && !differsAcrossEndpoints)) return result;
  const hub = isDockerHub(endpoint.url);
  let out = result;
  // A single-platform manifest on Docker Hub is compared by digest: no GET spent on it.
  if (isIndexAnswer(out) || !hub) {
    const read = await lookup.platformImage(endpoint, target.registry, target.repository, out.digest);
    if (read.ok) out = { ...out, platformImage: read.image };
    else if (isIndexAnswer(out)) out = { ...out, platformUnverified: read.reason };
  }
  if (out.platformImage && target.localImageIds.includes(out.platformImage.config)) return out; // same image for this node
  if (withMeta && !hub && hasLocal) {
    const build = await lookup.buildMeta(endpoint, target.registry, target.repository, out.platformImage?.manifest ?? out.digest);
    if (build && Object.keys(build).length > 0) out = { ...out, build };
  }
  return out;
}

/**
 * Docker Hub is asked with HEAD for tags: manifest GETs count against its pull limits
 * (docs.docker.com "usage and limits"), so its differences are explained only within
 * the client's GET budget, and never with the registry's build labels.
 */
export function isDockerHub(endpointUrl: string): boolean {
  try {
    return isDockerHubHost(new URL(endpointUrl).hostname);
  } catch {
    return false;
  }
}
