/**
 * Which image a node of a given platform runs from a digest, read from the registry:
 * for an index, the child containerd would pick and its config digest; for a manifest,
 * its own config. Manifests are immutable, so answers are kept by digest without a TTL
 * (a bounded map). On Docker Hub the two GETs come out of a budget per 6 hours, since
 * Docker Hub counts manifest GETs as pulls.
 */
import type { PlatformImage, PlatformRead } from '../../domain/tag-truth.js';
import { isDockerHubHost } from '../../domain/image-ref.js';
import { isIndex, type ManifestDoc } from './manifest.js';
import { SHA256_DIGEST as DIGEST_RE } from '../../domain/oci-grammar.js';
import { pickPlatformChild, platformString, type NodePlatform } from './platform.js';

/** Entries kept in the by-digest platform cache. */
const PLATFORM_CACHE_ENTRIES = 2_048;
const SIX_HOURS_MS = 6 * 3600_000;

export type GetManifest = (digest: string) => Promise<{ mediaType: string | undefined; doc: ManifestDoc } | undefined>;

/** Docker Hub manifest GETs this agent may spend per 6 hours, leaving the node's own pulls room. */
export class HubGetBudget {
  private window = { start: 0, spent: 0 };

  constructor(
    readonly perSixHours: number,
    private readonly now: () => number,
    /** Docker Hub's `RateLimit-Remaining` per host, as last answered. */
    private readonly remaining: () => ReadonlyMap<string, number>,
  ) {}

  /** Takes `n` GETs; false when that would overdraw the budget or Docker Hub says its quota is nearly spent. */
  take(n: number): boolean {
    const now = this.now();
    if (now - this.window.start >= SIX_HOURS_MS) this.window = { start: now, spent: 0 };
    if (this.window.spent + n > this.perSixHours) return false;
    for (const [host, left] of this.remaining()) if (isDockerHubHost(host.replace(/:\d+$/, '')) && left < 10) return false;
    this.window.spent += n;
    return true;
  }
}

export class PlatformReader {
  private readonly cache = new Map<string, PlatformImage>();

  constructor(
    private readonly platform: NodePlatform,
    private readonly hub: HubGetBudget,
  ) {}

  async read(host: string, hostname: string, repository: string, digest: string, getManifest: GetManifest): Promise<PlatformRead> {
    const key = `${host}|${repository}@${digest}`;
    const hit = this.cache.get(key);
    if (hit) return { ok: true, image: hit };
    if (isDockerHubHost(hostname) && !this.hub.take(2)) {
      return { ok: false, reason: `Docker Hub counts manifest GETs as pulls; this agent's budget of ${this.hub.perSixHours} per 6 h is spent` };
    }
    const platform = platformString(this.platform);
    try {
      const top = await getManifest(digest);
      if (!top) return { ok: false, reason: `the manifest ${digest.slice(0, 19)} could not be read` };
      let manifest = digest;
      let doc = top.doc;
      if (isIndex(top.mediaType, top.doc)) {
        const child = pickPlatformChild(top.doc, this.platform);
        if (!child || !DIGEST_RE.test(child)) return { ok: false, reason: `the index lists no ${platform} image` };
        const got = await getManifest(child);
        if (!got) return { ok: false, reason: `the ${platform} manifest ${child.slice(0, 19)} could not be read` };
        manifest = child;
        doc = got.doc;
      }
      const config = doc.config?.digest;
      if (!config || !DIGEST_RE.test(config)) return { ok: false, reason: `the ${platform} manifest names no config digest` };
      const image: PlatformImage = { platform, manifest, config };
      if (this.cache.size >= PLATFORM_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, image);
      return { ok: true, image };
    } catch {
      return { ok: false, reason: 'the manifest could not be read' };
    }
  }
}
