/**
 * `tagdrift resolver`: the shared resolver (deploy/components/resolver), answering the agents'
 * tag questions for the whole cluster within a per-registry budget. Stateless: a restart loses
 * only its cache.
 */
import { RegistryClient } from '../adapters/registry/client.js';
import { loadCredentials } from '../adapters/registry/credentials.js';
import { OptionsError } from '../config/options.js';
import { type Options } from '../config/option-table.js';
import { createLogger } from '../log.js';
import { buildResolverApp } from '../resolver/resolver.js';
import { endpointKey } from '../domain/registry-plan.js';
import { forbiddenAddress, parseCidr, type Cidr } from '../domain/addresses.js';
import { createApiAuthorizer, type ApiAuthorizer } from '../server/api-auth.js';
import { loadKubeApi } from '../adapters/kube/api.js';
import { SourceFailure } from '../domain/ports.js';
import { packageVersion } from '../version.js';
import { parseListen } from './listen.js';
import { readFileSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { networkInterfaces } from 'node:os';
import { MIN_SECRET_LENGTH, type NotificationSender } from '../resolver/notifications.js';

/** `--notify endpoint=secret-file` entries: each endpoint allow-listed, each secret read once and long enough. */
export function readNotifiers(entries: readonly string[], allowed: readonly string[]): NotificationSender[] {
  const allow = new Set(allowed.map(endpointKey));
  const problems: string[] = [];
  const out: NotificationSender[] = [];
  for (const entry of entries) {
    const eq = entry.lastIndexOf('=');
    const endpoint = eq > 0 ? endpointKey(entry.slice(0, eq)) : undefined;
    const file = eq > 0 ? entry.slice(eq + 1) : '';
    if (!endpoint || !file) {
      problems.push(`--notify: ${JSON.stringify(entry)} is not endpoint=secret-file (e.g. https://registry.example.com=/etc/tagdrift/notify/registry)`);
      continue;
    }
    if (!allow.has(endpoint)) {
      problems.push(`--notify: ${endpoint} is not in --allow-endpoints: the resolver answers only for allow-listed endpoints`);
      continue;
    }
    let secret: string;
    try {
      secret = readFileSync(file, 'utf8').trim();
    } catch (e) {
      problems.push(`--notify: cannot read the secret for ${endpoint} from ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      continue;
    }
    if (secret.length < MIN_SECRET_LENGTH || /\s/.test(secret)) {
      problems.push(`--notify: the secret in ${file} must be at least ${MIN_SECRET_LENGTH} characters without spaces`);
      continue;
    }
    if (out.some((o) => o.secret === secret)) {
      problems.push(`--notify: ${file} holds a secret already given to another endpoint: each registry needs its own`);
      continue;
    }
    out.push({ endpoint, secret });
  }
  if (problems.length > 0) throw new OptionsError(problems);
  return out;
}

/** The other replicas: every address `name` resolves to, but this pod's own. */
export function peersOf(name: string, port: number): () => Promise<string[]> {
  return async () => {
    const own = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
    const found = await lookup(name, { all: true });
    return found.filter((a) => !own.has(a.address)).map((a) => (a.family === 6 ? `http://[${a.address}]:${port}` : `http://${a.address}:${port}`));
  };
}

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
  const notifiers = readNotifiers(options.resolverNotify, options.resolverEndpoints);
  const notified = new Set(notifiers.map((n) => n.endpoint));
  // Credentials go only to the host they are written for, and only allow-listed endpoints are
  // asked; no address that is loopback, link-local, unspecified or in --deny-cidrs is contacted,
  // for the first request and every redirect, however the name or address is written.
  const registry = new RegistryClient({
    timeoutMs: options.registryTimeoutMs, cacheTtlMs: options.registryCacheTtlMs, credentials, credentialsByHostOnly: true,
    // An endpoint that announces its pushes keeps its answers longer: a push replaces them at once.
    cacheTtlFor: (url) => (notified.has(endpointKey(url) ?? url) ? options.resolverNotifiedCacheTtlMs : options.registryCacheTtlMs),
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
    allowedEndpoints: options.resolverEndpoints, ...(auth ? { auth } : {}), callerRate: options.resolverCallerRate, notifiers,
    ...(options.resolverPeers ? { peers: peersOf(options.resolverPeers, listen.port) } : {}),
  });
  await app.listen({ host: listen.host, port: listen.port });
  log.warn('resolver started', { listen: `${listen.host}:${listen.port}`, budgetPerSecond: options.resolverBudget, replicas: options.resolverReplicas, notifiers: [...notified] });
  await new Promise<void>((resolve) => {
    process.on('SIGHUP', () => log.warn('SIGHUP received: nothing to reload; still running'));
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await Promise.race([app.close(), new Promise((r) => setTimeout(r, 2_000).unref())]);
  registry.close();
  return 0;
}
