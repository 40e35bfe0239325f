/**
 * From the node's registry configuration to "who answers `name:tag` for this node":
 * the effective `config_path` for the runtime version, then per registry the
 * endpoints in try order and the one that resolves tags. Pure.
 */
import type {
  HostEntry,
  NodeCredentialSource,
  PlannedEndpoint,
  RegistryConfigSnapshot,
  RegistryPlan,
  RuntimeVersion,
} from '../../domain/registry-config.js';
import { atLeast, effectiveHostsConfig } from './rules.js';
import { ALL_CAPS, defaultUpstream, isUpstreamUrl } from '../../domain/registry-plan.js';


/** Directory names containerd looks for, per root, for registry `host`. */
export function hostDirCandidates(registry: string): string[] {
  const m = /^(.*):(\d+)$/.exec(registry);
  return m ? [`${m[1]}_${m[2]}_`, registry, '_default'] : [registry, '_default'];
}


function fromHostEntry(e: HostEntry, file: string, registry: string, entry: number): PlannedEndpoint {
  const url = e.kind === 'default' ? defaultUpstream(registry) : `${e.url}${e.path === '/v2' ? '' : e.path}`;
  const source = e.kind === 'default' ? `${file} (no server: default upstream)` : `${file} ${e.kind === 'server' ? 'server' : `[host."${e.url}"]`}`;
  const clientPairs = e.clientPairs ?? [];
  return {
    url,
    capabilities: e.capabilities,
    source,
    skipVerify: e.skipVerify,
    headerNames: e.headerNames,
    ...(e.ca.length > 0 || clientPairs.length > 0 ? { tls: { ca: e.ca, clientPairs } } : {}),
    ...(e.headerNames.length > 0 ? { origin: { file, entry } } : {}),
  };
}

function withScheme(endpoint: string): string {
  if (/^https?:\/\//.test(endpoint)) return endpoint;
  const host = endpoint.split('/')[0]!.replace(/:\d+$/, '');
  const loopback = host === 'localhost' || /^127\./.test(host) || host === '[::1]';
  return `${loopback ? 'http' : 'https'}://${endpoint}`;
}

function finish(registry: string, endpoints: PlannedEndpoint[], mode: RegistryPlan['mode']): RegistryPlan {
  const resolver = endpoints.find((e) => e.capabilities.includes('resolve')) ?? endpoints[endpoints.length - 1]!;
  return { registry, endpoints, resolvesTagsVia: resolver.url, mirrorResolves: !isUpstreamUrl(resolver.url, registry), mode };
}

/**
 * containerd picks a static credential by the host it is contacting (`registry.configs."<host>".auth`,
 * the mirror's host for a mirror), on every release tagdrift supports; kubelet's pull secret wins
 * when there is one. Each endpoint is marked with where the node's credential for its host is written.
 */
function withNodeCredentials(plan: RegistryPlan, auth: Readonly<Record<string, NodeCredentialSource>> | undefined): RegistryPlan {
  if (!auth) return plan;
  let changed = false;
  const endpoints = plan.endpoints.map((e) => {
    let host: string;
    try {
      host = new URL(e.url).host;
    } catch {
      return e;
    }
    const source = Object.hasOwn(auth, host) ? auth[host] : undefined;
    if (!source) return e;
    changed = true;
    return { ...e, nodeCredential: { ...source, host } };
  });
  return changed ? { ...plan, endpoints } : plan;
}

export function planRegistry(registry: string, snap: RegistryConfigSnapshot, v: RuntimeVersion): RegistryPlan {
  return withNodeCredentials(planEndpoints(registry, snap, v), snap.config.registry?.auth);
}

function planEndpoints(registry: string, snap: RegistryConfigSnapshot, v: RuntimeVersion): RegistryPlan {
  const eff = effectiveHostsConfig(snap.config, v);
  const upstream = (why: string): PlannedEndpoint => ({
    url: defaultUpstream(registry),
    capabilities: atLeast(v, 2, 2) ? [...ALL_CAPS, 'referrers'] : ALL_CAPS,
    source: why,
    skipVerify: false,
    headerNames: [],
  });
  if (eff.roots.length > 0 && !eff.ignoredMultiDir) {
    for (const root of eff.roots) {
      for (const name of hostDirCandidates(registry)) {
        const dir = snap.hostsFiles.find((h) => h.root === root && h.dirName === name);
        if (!dir) continue;
        if (dir.ignoredBecause) return finish(registry, [upstream(`default upstream (${dir.file} is ignored)`)], 'hosts');
        if (dir.hosts.length === 0) return finish(registry, [upstream(`default upstream (${dir.file.replace(/\/hosts\.toml$/, '')}: no hosts.toml)`)], 'hosts');
        return finish(registry, dir.hosts.map((e, i) => fromHostEntry(e, dir.file, registry, i)), 'hosts');
      }
    }
    return finish(registry, [upstream(`default upstream (no hosts directory under ${eff.roots.join(', ')})`)], 'hosts');
  }
  const mirrors = snap.config.registry?.mirrors ?? {};
  const list = mirrors[registry] ?? mirrors['*'];
  if (eff.roots.length === 0 && list && list.length > 0) {
    const key = mirrors[registry] ? registry : '*';
    const endpoints: PlannedEndpoint[] = list.map((raw) => {
      const u = withScheme(raw);
      const url = /^https?:\/\/[^/]+$/.test(u) ? u : u.replace(/\/+$/, '');
      return { url, capabilities: ['pull', 'resolve'], source: `${snap.config.file} registry.mirrors."${key}"`, skipVerify: false, headerNames: [] };
    });
    // The upstream is appended unless one endpoint is the requested host itself.
    const hostOf = (u: string) => {
      try {
        return new URL(u).host;
      } catch {
        return undefined;
      }
    };
    if (!endpoints.some((e) => hostOf(e.url) === registry)) endpoints.push(upstream('default upstream (appended after legacy mirrors)'));
    return finish(registry, endpoints, 'legacy-mirrors');
  }
  return finish(registry, [upstream('default upstream')], 'default');
}

/** Registries worth planning from the config alone: every configured host directory and mirror key. */
export function configuredRegistries(snap: RegistryConfigSnapshot): string[] {
  const out = new Set<string>();
  for (const h of snap.hostsFiles) {
    if (h.dirName === '_default') continue;
    const m = /^(.*)_(\d+)_$/.exec(h.dirName);
    out.add(m ? `${m[1]}:${m[2]}` : h.dirName);
  }
  for (const k of Object.keys(snap.config.registry?.mirrors ?? {})) if (k !== '*') out.add(k);
  return [...out].sort();
}


