/** What every runtime's plan shares: a registry's own default upstream, and the plan without configuration. */
import { DOCKER_HUB, isDockerHubHost } from './image-ref.js';
import type { RegistryPlan } from './registry-config.js';

export const ALL_CAPS = ['pull', 'resolve', 'push'];

export function defaultUpstream(registry: string): string {
  if (registry === 'docker.io') return 'https://registry-1.docker.io';
  const hostOnly = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const port = /:(\d+)$/.exec(registry)?.[1];
  const loopback = hostOnly === 'localhost' || /^127\./.test(hostOnly) || hostOnly === '::1';
  // Loopback registries default to plain HTTP unless on 443 (containerd tries HTTPS first, then falls back).
  if (loopback && port && port !== '443') return `http://${registry}`;
  return `https://${registry}`;
}

export function isUpstreamUrl(url: string, registry: string): boolean {
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    return false;
  }
  if (host === registry) return true;
  if (host === new URL(defaultUpstream(registry)).host) return true;
  return registry === DOCKER_HUB && isDockerHubHost(host);
}

/** The plan when the node's registry configuration was not read: the registry's default upstream. */
export function defaultRegistryPlan(registry: string): RegistryPlan {
  const url = defaultUpstream(registry);
  return {
    registry,
    endpoints: [{ url, capabilities: ALL_CAPS, source: 'default upstream (registry configuration not read)', skipVerify: false, headerNames: [] }],
    resolvesTagsVia: url,
    mirrorResolves: false,
    mode: 'default',
  };
}

/**
 * An endpoint as the shared resolver's allow-list, its notifiers and the agents compare it: origin
 * plus any API path, no trailing slash; undefined for anything but http(s) without user info, query or fragment.
 */
export function endpointKey(endpoint: string): string | undefined {
  try {
    const u = new URL(endpoint);
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || u.search || u.hash) return undefined;
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return undefined;
  }
}
