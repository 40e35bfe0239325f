/** Wiring shared by `scan` and `agent`: the runtime client, the pod source, the node's files and the registry client. */
import { readFileSync } from 'node:fs';
import { createCriClient } from '../adapters/cri/client.js';
import { runtimeEndpointFor } from '../adapters/cri/endpoint.js';
import { kubePodSource } from '../adapters/kube/pods.js';
import { loadKubeApi, type KubeApi } from '../adapters/kube/api.js';
import { createHostFiles, nodeFileExists, type HostFiles } from '../adapters/node-files/host-files.js';
import { RegistryClient } from '../adapters/registry/client.js';
import { createRegistryLookup } from '../adapters/registry/lookup.js';
import { createSharedLookup, ResolverHealth } from '../adapters/registry/shared-lookup.js';
import { loadCredentials } from '../adapters/registry/credentials.js';
import { AnswerHold } from '../adapters/registry/answer-hold.js';
import { SourceFailure, type PodSource, type RegistryLookup, type RuntimeClient } from '../domain/ports.js';
import type { CollectDeps, CollectOptions } from '../scan/scan.js';
import { OptionsError } from '../config/options.js';
import { type Options } from '../config/option-table.js';
import type { Logger } from '../log.js';

export interface Sources {
  readonly runtime: RuntimeClient | SourceFailure;
  readonly pods: PodSource | SourceFailure;
  readonly hostFiles: HostFiles;
  readonly registry: RegistryClient | undefined;
  /** The Kubernetes API access the pod source uses (also for the agent's API authentication). */
  readonly kubeApi: KubeApi | SourceFailure;
  /** Fresh collector dependencies (a new registry lookup re-reads certificates and headers). */
  deps(): CollectDeps;
  collectOptions(): CollectOptions;
  close(): void;
}

export interface SourceHooks {
  readonly onRuntimeCall?: (method: string, code: string, seconds: number) => void;
  readonly onRegistryRequest?: (host: string, method: string, code: string) => void;
}

/**
 * The token the agent shows the shared resolver: a projected service-account token whose
 * audience is the resolver (deploy/components/resolver), re-read each time (kubelet rotates
 * it). It is worth nothing to the API server, so a resolver impostor gains nothing from it.
 */
export function tokenFrom(file: string | undefined): (() => string | undefined) | undefined {
  if (!file) return undefined;
  return () => {
    try {
      const t = readFileSync(file, 'utf8').trim();
      return t.length > 0 && t.length < 16_384 && !/\s/.test(t) ? t : undefined;
    } catch {
      return undefined;
    }
  };
}

export async function createSources(options: Options, log: Logger, hooks: SourceHooks = {}): Promise<Sources> {
  const credentials = options.registryAuthFile ? loadCredentials(options.registryAuthFile) : new Map();
  if (credentials instanceof Error) throw new OptionsError([credentials.message]);
  const hostFiles = createHostFiles(options.hostRoot);
  let runtime: RuntimeClient | SourceFailure;
  try {
    runtime = createCriClient({
      endpoint: runtimeEndpointFor(options.runtimeEndpoint, nodeFileExists(hostFiles)),
      timeoutMs: options.runtimeTimeoutMs,
      onCall: (method, code, seconds) => {
        log.debug('cri call', { method, code, seconds });
        hooks.onRuntimeCall?.(method, code, seconds);
      },
    });
  } catch (e) {
    runtime = new SourceFailure('error', (e as Error).message);
  }
  const registry =
    options.registryChecks === 'on'
      ? new RegistryClient({
          timeoutMs: options.registryTimeoutMs,
          cacheTtlMs: options.registryCacheTtlMs,
          credentials,
          onRequest: (host, method, code) => {
            log.debug('registry request', { host, method, code });
            hooks.onRegistryRequest?.(host, method, code);
          },
        })
      : undefined;
  // Answers that outlive a flapping source, across scans (agent only: a single scan has nothing to hold).
  const hold = new AnswerHold(options.registryHoldMs ?? 0);
  // With a shared resolver, questions every node asks alike go there (one answer per cluster).
  const health = new ResolverHealth();
  const credentialHosts = new Set([...credentials.keys()]);
  const resolverToken = tokenFrom(options.resolverTokenFile);
  const lookupFor = (direct: RegistryLookup): RegistryLookup =>
    options.resolverUrl
      ? createSharedLookup(direct, { resolverUrl: options.resolverUrl, nodeAddresses: options.nodeIp ? [options.nodeIp] : [], credentialHosts, fallbackPerScan: options.resolverFallback, ...(resolverToken ? { token: resolverToken } : {}) }, health)
      : direct;
  const kubeApi = await loadKubeApi(options.kubeconfig, { context: options.kubeContext, cluster: options.kubeCluster, user: options.kubeUser, as: options.kubeAs, asGroups: options.kubeAsGroups });
  const pods = kubeApi instanceof SourceFailure ? kubeApi : kubePodSource(kubeApi, { timeoutMs: options.kubeTimeoutMs });
  if (pods instanceof SourceFailure) log.info('pod intent unavailable', { reason: pods.kind, detail: pods.message });
  return {
    runtime,
    pods,
    hostFiles,
    registry,
    kubeApi,
    deps: () => ({
      runtime, pods, now: () => new Date(), hostFiles,
      ...(registry ? { registry: hold.wrap(lookupFor(createRegistryLookup(registry, hostFiles))), registryMaxTags: options.registryMaxTags } : {}),
    }),
    collectOptions: () => ({
      nodeName: options.nodeName,
      hostRoot: options.hostRoot,
      containerdConfig: options.containerdConfig,
      ...(options.runtimeVersion ? { runtimeVersion: options.runtimeVersion } : {}),
    }),
    close: () => {
      if (!(runtime instanceof SourceFailure)) runtime.close();
      registry?.close();
    },
  };
}
