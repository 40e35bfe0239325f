/**
 * CRI-O's registry resolution (containers-registries.conf(5); containers/image
 * sysregistriesv2 `PullSourcesFromReference`), planned into the same RegistryPlan shape as
 * containerd's, so tag checks, mirror chains and findings need no runtime-specific branch.
 *
 * For a tag pull: the mirrors of the matching `[[registry]]` in file order — minus
 * digest-only ones (`mirror-by-digest-only`, or `pull-from-mirror = "digest-only"`) — then
 * the primary location, always last. A blocked registry is never pulled from.
 */
import type { ConfigProblem, PlannedEndpoint, RegistryPlan } from '../../domain/registry-config.js';

export interface CrioMirror {
  readonly location: string;
  readonly insecure: boolean;
  readonly pullFromMirror: 'all' | 'digest-only' | 'tag-only';
}

export interface CrioRegistry {
  readonly prefix: string;
  readonly location: string;
  readonly insecure: boolean;
  readonly blocked: boolean;
  readonly mirrorByDigestOnly: boolean;
  readonly mirrors: readonly CrioMirror[];
  readonly file: string;
}

export interface CrioRegistriesRead {
  readonly runtimeVersion: string;
  /** Files read: registries.conf, then the drop-ins in order. */
  readonly files: readonly string[];
  readonly registries: readonly CrioRegistry[];
  readonly problems: readonly ConfigProblem[];
}

/** `*.example.com` matches subdomains only; otherwise the prefix is the host itself. */
function prefixMatchesHost(prefix: string, host: string): boolean {
  if (prefix.startsWith('*.')) return host.endsWith(prefix.slice(1)) && host !== prefix.slice(2);
  return prefix === host;
}

/** The [[registry]] entry for a registry host (exact prefix first, then the longest wildcard). */
export function crioRegistryFor(conf: CrioRegistriesRead, host: string): CrioRegistry | undefined {
  const exact = conf.registries.find((r) => r.prefix === host);
  if (exact) return exact;
  return conf.registries.filter((r) => prefixMatchesHost(r.prefix, host)).sort((a, b) => b.prefix.length - a.prefix.length)[0];
}

/** Prefixes naming a repository path (`docker.io/library`): planned per host here, so said. */
export function pathPrefixes(conf: CrioRegistriesRead): CrioRegistry[] {
  return conf.registries.filter((r) => r.prefix.replace(/^\*\./, '').includes('/'));
}

/** A location with a repository path (`mirror.example.com/hub`) rewrites repositories: not modelled. */
export function locationHasPath(location: string): boolean {
  return location.includes('/');
}

function endpointUrl(location: string, insecure: boolean): string {
  const host = location.split('/')[0]!;
  return `${insecure ? 'http' : 'https'}://${host === 'docker.io' ? 'registry-1.docker.io' : host}`;
}

function endpoint(location: string, insecure: boolean, capabilities: string[], source: string): PlannedEndpoint {
  return { url: endpointUrl(location, insecure), capabilities, source, skipVerify: insecure, headerNames: [] };
}

export function planCrioRegistry(host: string, conf: CrioRegistriesRead): RegistryPlan {
  const reg = crioRegistryFor(conf, host);
  if (!reg) {
    const up = endpoint(host, false, ['pull', 'resolve'], 'no [[registry]] entry: the reference as written');
    return { registry: host, endpoints: [up], resolvesTagsVia: up.url, mirrorResolves: false, mode: 'registries-conf' };
  }
  const endpoints: PlannedEndpoint[] = reg.mirrors.map((m, i) => {
    const tags = !reg.mirrorByDigestOnly && m.pullFromMirror !== 'digest-only';
    return endpoint(m.location, m.insecure, tags ? ['pull', 'resolve'] : ['pull'], `${reg.file} [[registry]] prefix "${reg.prefix}" mirror ${i + 1}${tags ? '' : ' (digest-only)'}`);
  });
  if (!reg.blocked) endpoints.push(endpoint(reg.location, reg.insecure, ['pull', 'resolve'], `${reg.file} [[registry]] prefix "${reg.prefix}" location (always tried last)`));
  const resolver = endpoints.find((e) => e.capabilities.includes('resolve'));
  const primary = endpointUrl(reg.location, reg.insecure);
  return {
    registry: host,
    endpoints,
    resolvesTagsVia: resolver?.url ?? '',
    mirrorResolves: resolver !== undefined && resolver.url !== primary,
    mode: 'registries-conf',
  };
}
