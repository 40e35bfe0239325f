/**
 * `tagdrift resolver`: the shared resolver (deploy/components/resolver), answering the agents'
 * tag questions for the whole cluster within a per-registry budget. Stateless: a restart loses
 * only its cache.
 */
import { RegistryClient } from '../adapters/registry/client.js';
import { loadCredentials } from '../adapters/registry/credentials.js';
import { OptionsError, type Options } from '../config/options.js';
import { createLogger } from '../log.js';
import { buildResolverApp } from '../resolver/resolver.js';
import { packageVersion } from '../version.js';
import { parseListen } from './agent.js';

export async function runResolver(options: Options): Promise<number> {
  const log = createLogger(options.logLevel);
  const listen = parseListen(options.listen);
  const credentials = options.registryAuthFile ? loadCredentials(options.registryAuthFile) : new Map();
  if (credentials instanceof Error) throw new OptionsError([credentials.message]);
  let count: (host: string, code: string) => void = () => undefined;
  const registry = new RegistryClient({ timeoutMs: options.registryTimeoutMs, cacheTtlMs: options.registryCacheTtlMs, credentials, onRequest: (host, _method, code) => count(host, code) });
  const app = await buildResolverApp({ registry, budgetPerSecond: options.resolverBudget, replicas: options.resolverReplicas, version: packageVersion(), onRequestHook: (c) => (count = c) });
  await app.listen({ host: listen.host, port: listen.port });
  log.warn('resolver started', { listen: `${listen.host}:${listen.port}`, budgetPerSecond: options.resolverBudget, replicas: options.resolverReplicas });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await Promise.race([app.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
  registry.close();
  return 0;
}
