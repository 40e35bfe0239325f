/** The RegistryLookup port over the registry client: planned endpoints become connection settings. */
import type { RegistryLookup } from '../../domain/ports.js';
import type { HostFiles } from '../node-files/host-files.js';
import type { RegistryClient } from './client.js';
import { createEndpointResolver } from './endpoints.js';

/** One per scan: certificates and header values are re-read each cycle, so rotated files take effect. */
export function createRegistryLookup(client: RegistryClient, files: HostFiles | undefined): RegistryLookup {
  const endpoints = createEndpointResolver(files);
  return {
    resolveTag: (e, registry, repo, tag) => client.resolveTag(endpoints.resolve(e), registry, repo, tag),
    platformImage: (e, registry, repo, digest) => client.platformImage(endpoints.resolve(e), registry, repo, digest),
    buildMeta: (e, registry, repo, digest) => client.buildMeta(endpoints.resolve(e), registry, repo, digest),
  };
}
