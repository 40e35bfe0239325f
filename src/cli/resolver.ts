/**
 * `tagdrift resolver`: the shared resolver (deploy/components/resolver), answering the agents'
 * tag questions for the whole cluster within a per-registry budget. Stateless: a restart loses
 * only its cache.
 */
import { RegistryClient } from '../adapters/registry/client.js';
import { loadCredentials } from '../adapters/registry/credentials.js';
import { OptionsError, type Options } from '../config/options.js';
import { createLogger } from '../log.js';
import { buildResolverApp, endpointKey } from '../resolver/resolver.js';
import { forbiddenAddress, parseCidr, type Cidr } from '../domain/addresses.js';
import { createApiAuthorizer, type ApiAuthorizer } from '../server/api-auth.js';
import { loadKubeApi } from '../adapters/kube/api.js';
import { SourceFailure } from '../domain/ports.js';
import { packageVersion } from '../version.js';
import { parseListen } from './listen.js';

/** The audience of the tokens agents show the resolver (a projected token: useless against the API server). */
export const RESOLVER_AUDIENCE = 'tagdrift-resolver';

export async function runResolver(options: Options): Promise<number> {
  const log = createLogger(options.logLevel);
  const listen = parseListen(options.listen);
  const credentials = options.registryAuthFile ? loadCredentials(options.registryAuthFile) : new Map();
  if (credentials instanceof Error) throw new OptionsError([credentials.message]);
  let count: (host: string, code: string) => void = () => undefined;
  const denied = options.resolverDenyCidrs.map((t) => parseCidr(t) ?? t);
  const badCidr = denied.find((c): c is string => typeof c === 'string');
  if (badCidr !== undefined) throw new OptionsError([`--deny-cidrs: ${JSON.stringify(badCidr)} is not an address range like 10.96.0.0/12`]);
  const badEndpoint = options.resolverEndpoints.find((e) => endpointKey(e) === undefined);
  if (badEndpoint !== undefined) throw new OptionsError([`--allow-endpoints: ${JSON.stringify(badEndpoint)} is not an http(s) URL without user info, query or fragment`]);
  const ranges = denied as Cidr[];
  // Credentials go only to the host they are written for, and only allow-listed endpoints are
  // asked; no address that is loopback, link-local, unspecified or in --deny-cidrs is contacted,
  // for the first request and every redirect, however the name or address is written.
  const registry = new RegistryClient({
    timeoutMs: options.registryTimeoutMs, cacheTtlMs: options.registryCacheTtlMs, credentials, credentialsByHostOnly: true,
    addressPolicy: (ip) => forbiddenAddress(ip, ranges),
    onRequest: (host, _method, code) => count(host, code),
  });
  let auth: ApiAuthorizer | undefined;
  if (options.resolverAuth === 'kubernetes') {
    const api = await loadKubeApi(options.kubeconfig, {});
    if (api instanceof SourceFailure) throw new OptionsError([`--caller-auth kubernetes needs the Kubernetes API to review callers' tokens: ${api.message} (or --caller-auth none)`]);
    const callers = new Set(options.resolverCallers);
    auth = createApiAuthorizer({
      mode: 'kubernetes', api, namespace: '', podName: '', audiences: [[RESOLVER_AUDIENCE]], allowLoopback: false,
      authorizeUser: (u) => (callers.has(u.username) ? { ok: true, who: u.username } : { ok: false, status: 403, reason: `${u.username} may not ask this resolver (--callers)` }),
    });
  }
  const app = await buildResolverApp({
    registry, budgetPerSecond: options.resolverBudget, replicas: options.resolverReplicas, version: packageVersion(), onRequestHook: (c) => (count = c),
    allowedEndpoints: options.resolverEndpoints, ...(auth ? { auth } : {}), callerRate: options.resolverCallerRate,
  });
  await app.listen({ host: listen.host, port: listen.port });
  log.warn('resolver started', { listen: `${listen.host}:${listen.port}`, budgetPerSecond: options.resolverBudget, replicas: options.resolverReplicas });
  await new Promise<void>((resolve) => {
    process.on('SIGHUP', () => log.warn('SIGHUP received: nothing to reload; still running'));
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await Promise.race([app.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
  registry.close();
  return 0;
}
