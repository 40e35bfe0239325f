/**
 * The agent's side of the shared resolver: tag questions any node could ask the same way go
 * to the resolver (one answer for the whole cluster per cache period); the rest stay on the
 * node — node-local endpoints (loopback, link-local, this node's own address: spegel and
 * other node mirrors) and endpoints that need this node's credentials, certificates or
 * hosts.toml headers, which never leave it.
 *
 * When the resolver cannot be reached, the node asks directly within a small budget per scan
 * and reports the rest as unverified (`check-failed`), then tries the resolver again after a
 * back-off: no restart needed, no single point of failure for the node's own view.
 */
import type { RegistryLookup } from '../../domain/ports.js';
import type { PlannedEndpoint } from '../../domain/registry-config.js';
import { acceptTagAnswer, type TagResolved, type TagUnverified } from '../../domain/tag-truth.js';
import { nodeLocalHost } from '../../domain/addresses.js';
import { monotonicNow } from '../../domain/clock.js';
import { DOCKER_HUB, isDockerHubHost } from '../../domain/image-ref.js';

export interface SharedLookupOptions {
  readonly resolverUrl: string;
  /** This node's addresses (NODE_IP): mirrors there are node-local. */
  readonly nodeAddresses: readonly string[];
  /** Registry hosts this node holds credentials for (they are not sent to the resolver). */
  readonly credentialHosts: ReadonlySet<string>;
  /** Direct questions a scan may ask while the resolver is down. */
  readonly fallbackPerScan: number;
  readonly timeoutMs?: number;
  readonly now?: () => number;
  /** The agent's own service-account token, sent so the resolver can tell agents from anyone else. */
  readonly token?: () => string | undefined;
}

/** Shared across scans: the resolver's health and back-off. */
export class ResolverHealth {
  downUntil = 0;
  failures = 0;
  constructor(private readonly now: () => number = monotonicNow) {}
  usable(): boolean {
    return this.now() >= this.downUntil;
  }
  failed(): void {
    this.failures += 1;
    this.downUntil = this.now() + Math.min(60_000, 2_000 * 2 ** Math.min(this.failures - 1, 5));
  }
  ok(): void {
    this.failures = 0;
    this.downUntil = 0;
  }
}

/** Whether a planned endpoint's tag question may be asked by the resolver for this node. */
export function shareable(e: PlannedEndpoint, o: Pick<SharedLookupOptions, 'nodeAddresses' | 'credentialHosts'>, registry?: string): boolean {
  let url: URL;
  try {
    url = new URL(e.url);
  } catch {
    return false;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (nodeLocalHost(url.host) || o.nodeAddresses.includes(host)) return false;
  if (e.nodeCredential) return false;
  if (e.headerNames.length > 0 || (e.tls && (e.tls.ca.length > 0 || e.tls.clientPairs.length > 0)) || e.skipVerify) return false;
  // The registry client sends the credential of the endpoint's host, else of the image's registry
  // (docker.io for registry-1.docker.io): either keeps the question on this node.
  const hub = (h: string) => (isDockerHubHost(h) ? DOCKER_HUB : h);
  return ![url.host, host, hub(url.host), ...(registry ? [registry, hub(registry)] : [])].some((h) => o.credentialHosts.has(h));
}

/** One per scan, over the node's own lookup: the fallback budget is per scan. */
export function createSharedLookup(direct: RegistryLookup, o: SharedLookupOptions, health: ResolverHealth): RegistryLookup {
  let fallbackLeft = o.fallbackPerScan;
  /** The resolver's answer; `down` when nothing listens there (the node may ask directly), `slow` when it did not answer in time (the node does not: that would add load where the budget is spent). */
  const viaResolver = async (e: PlannedEndpoint, registry: string, repository: string, tag: string): Promise<TagResolved | TagUnverified | 'down' | 'slow' | 'not-served'> => {
    if (!health.usable()) return 'down';
    try {
      const token = o.token?.();
      const res = await fetch(new URL('/v1/resolve', o.resolverUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ endpoint: e.url, registry, repository, tag }),
        signal: AbortSignal.timeout(o.timeoutMs ?? 5_000),
      });
      // An endpoint the resolver is not configured to ask is this node's own question.
      if (res.status === 403 && (await res.json().catch(() => ({})) as { code?: unknown }).code === 'endpoint-not-served') return 'not-served';
      // Refused as a caller: the resolver is of no use to this node until that is fixed (asked directly within the budget).
      if (res.status === 401 || res.status === 403) {
        health.failed();
        return 'down';
      }
      if (res.status !== 200) return 'slow';
      const text = await res.text();
      health.ok();
      let parsed: unknown;
      try {
        parsed = text.length <= 256 * 1024 ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      const answer = acceptTagAnswer(parsed, `the shared resolver ${new URL(o.resolverUrl).host}`);
      return { ...answer, via: 'resolver' as const };
    } catch (err) {
      // Down only when nothing listens there (or the name does not resolve); a reset, a timeout
      // or an error answer is a resolver under load, which the node must not bypass.
      const code = ((err as { cause?: { code?: string } }).cause?.code) ?? '';
      if (!['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return 'slow';
      health.failed();
      return 'down';
    }
  };
  return {
    async resolveTag(e, registry, repository, tag) {
      if (!shareable(e, o, registry)) return direct.resolveTag(e, registry, repository, tag);
      const shared = await viaResolver(e, registry, repository, tag);
      if (shared === 'not-served') return direct.resolveTag(e, registry, repository, tag);
      if (shared === 'slow') return { ok: false, kind: 'unreachable', message: `the shared resolver ${new URL(o.resolverUrl).host} gave no answer (slow, overloaded or failing): not bypassed, asked again next scan` };
      if (shared !== 'down') return shared;
      if (fallbackLeft > 0) {
        fallbackLeft -= 1;
        return direct.resolveTag(e, registry, repository, tag);
      }
      return { ok: false, kind: 'unreachable', message: `the shared resolver ${new URL(o.resolverUrl).host} is not answering and this scan's direct budget (${o.fallbackPerScan}) is spent: asked again next scan` };
    },
    platformImage: (e, registry, repository, digest) => direct.platformImage(e, registry, repository, digest),
    buildMeta: (e, registry, repository, digest) => direct.buildMeta(e, registry, repository, digest),
  };
}
