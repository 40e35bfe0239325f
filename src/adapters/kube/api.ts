/**
 * Minimal Kubernetes API access: @kubernetes/client-node loads the configuration
 * (kubeconfig or in-cluster service account) and applies its credentials (tokens,
 * client certificates, exec plugins); each GET is made with node's http(s) so it has a
 * hard deadline that tears the socket down, and a size cap.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import https from 'node:https';
import type { KubeErrorKind } from '../../domain/snapshot.js';
import { SourceFailure } from '../../domain/ports.js';
import { getCapped, type CappedGetErrors, type SendBody } from '../http-get.js';

export interface KubeApi {
  /** GET `path` (with query) and parse JSON; rejects with a classified SourceFailure naming `what`. */
  getJson(path: string, query: Record<string, string>, opts: { timeoutMs: number; maxBytes: number; what: string; headers?: Record<string, string> }): Promise<unknown>;
  /** The raw answer (status and body) of a GET, for proxied requests whose status carries meaning. */
  get(path: string, opts: { timeoutMs: number; maxBytes: number; headers?: Record<string, string> }): Promise<{ status: number; body: Buffer }>;
  /** POST of a JSON object (TokenReview, SubjectAccessReview, TokenRequest): the parsed answer of a 2xx. */
  postJson(path: string, body: object, opts: { timeoutMs: number; maxBytes: number; what: string }): Promise<unknown>;
  /** JSON merge patch (RFC 7386) of an object: the parsed answer of a 2xx. */
  patchJson(path: string, body: object, opts: { timeoutMs: number; maxBytes: number; what: string }): Promise<unknown>;
  readonly server: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Why a kubeconfig could not be loaded, without its content: a YAML error's message quotes
 * the lines around the mistake, which may hold a token or a key. Only the reason and the
 * position are kept; other errors keep their first line, with any URL's userinfo removed.
 */
export function kubeconfigError(e: unknown): string {
  const err = e as { name?: string; reason?: string; mark?: { line?: number; column?: number }; code?: string; message?: string };
  if (err?.name === 'YAMLException' || err?.mark) {
    const at = err.mark && typeof err.mark.line === 'number' ? ` at line ${err.mark.line + 1}, column ${(err.mark.column ?? 0) + 1}` : '';
    return `invalid YAML: ${String(err.reason ?? 'syntax error').slice(0, 120)}${at}`;
  }
  if (err?.code === 'ENOENT') return 'no such file';
  if (err?.code === 'EACCES') return 'permission denied';
  const first = String(err?.message ?? e).split('\n')[0]!.slice(0, 200);
  return first.replace(/[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\s]*@/g, (m) => m.replace(/\/\/.*@/, '//'));
}

/**
 * Loads the configuration; `kubeconfig` undefined means in-cluster. In a cluster the
 * service account is read directly (token re-read for every request, as bound tokens
 * rotate): @kubernetes/client-node costs about 73 MiB of RSS, which the DaemonSet
 * does not need. A kubeconfig (any credential kind) goes through the library.
 */
export interface KubeconfigSelection {
  /** kubectl's --context, --cluster and --user. */
  readonly context?: string | undefined;
  readonly cluster?: string | undefined;
  readonly user?: string | undefined;
  /** kubectl's --as and --as-group: the API server acts as this identity (Impersonate-User/-Group). */
  readonly as?: string | undefined;
  readonly asGroups?: readonly string[] | undefined;
}

/** Impersonation headers, added after the credentials (as kubectl sends them). */
function impersonate(o: https.RequestOptions, select: KubeconfigSelection): void {
  if (!select.as && !(select.asGroups && select.asGroups.length > 0)) return;
  const h = { ...(o.headers as Record<string, string | string[]>) };
  if (select.as) h['impersonate-user'] = select.as;
  if (select.asGroups && select.asGroups.length > 0) h['impersonate-group'] = [...select.asGroups];
  o.headers = h;
}

export async function loadKubeApi(kubeconfig: string | undefined, select: KubeconfigSelection = {}): Promise<KubeApi | SourceFailure<KubeErrorKind>> {
  if (!kubeconfig) {
    const host = process.env['KUBERNETES_SERVICE_HOST'];
    if (!host) return new SourceFailure('not-configured', 'no --kubeconfig given and not running in a cluster');
    return inClusterApi({ host, port: process.env['KUBERNETES_SERVICE_PORT'] ?? '443', dir: SERVICE_ACCOUNT_DIR }, select);
  }
  let KubeConfig: typeof import('@kubernetes/client-node').KubeConfig;
  try {
    ({ KubeConfig } = await import('@kubernetes/client-node'));
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    // An optional dependency: npm installs it with the CLI; the image leaves it out (its agent
    // and resolver use the pod's service account, never a kubeconfig).
    return new SourceFailure('not-configured', '--kubeconfig needs the optional package @kubernetes/client-node, which is not installed here (the image leaves it out: run in a pod without --kubeconfig, or use the CLI installed with npm)');
  }
  // A list (KUBECONFIG=a:b) is merged the way kubectl merges it: for current-context and for
  // every cluster, user and context name, the first file that sets it wins.
  type Named = { name: string };
  const merged = { clusters: [] as Named[], users: [] as Named[], contexts: [] as (Named & { cluster: string; user: string; namespace?: string })[], currentContext: '' };
  for (const file of kubeconfig.split(':').filter(Boolean)) {
    const one = new KubeConfig();
    try {
      one.loadFromFile(file);
    } catch (e) {
      return new SourceFailure('not-configured', `kubeconfig ${file}: ${kubeconfigError(e)}`);
    }
    if (!merged.currentContext && one.currentContext) merged.currentContext = one.currentContext;
    for (const [list, from] of [[merged.clusters, one.clusters], [merged.users, one.users], [merged.contexts, one.contexts]] as [Named[], Named[]][]) {
      for (const item of from) if (!list.some((x) => x.name === item.name)) list.push(item);
    }
  }
  let current = select.context ?? merged.currentContext;
  const ctx = merged.contexts.find((c) => c.name === current);
  if (select.context && !ctx) return new SourceFailure('not-configured', `context "${select.context}" not found in ${kubeconfig}`);
  if (select.cluster && !merged.clusters.some((c) => c.name === select.cluster)) return new SourceFailure('not-configured', `cluster "${select.cluster}" not found in ${kubeconfig}`);
  if (select.user && !merged.users.some((u) => u.name === select.user)) return new SourceFailure('not-configured', `user "${select.user}" not found in ${kubeconfig}`);
  if (select.cluster || select.user) {
    const base = ctx ?? { name: '', cluster: '', user: '' };
    const override = { name: 'tagdrift-selected', cluster: select.cluster ?? base.cluster, user: select.user ?? base.user, ...(base.namespace ? { namespace: base.namespace } : {}) };
    merged.contexts = [...merged.contexts.filter((c) => c.name !== override.name), override];
    current = override.name;
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: merged.clusters, users: merged.users, contexts: merged.contexts, currentContext: current });
  const cluster = kc.getCurrentCluster();
  if (!cluster) return new SourceFailure('not-configured', 'kubeconfig has no current cluster');
  return apiOver(cluster.server.replace(/\/+$/, ''), async (o) => {
    await kc.applyToHTTPSOptions(o);
    impersonate(o, select);
  });
}

/** The API from inside a pod: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, the service account's CA and token. */
export function inClusterApi(opts: { host: string; port: string; dir: string; scheme?: 'https' | 'http' }, select: KubeconfigSelection = {}): KubeApi | SourceFailure<KubeErrorKind> {
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(join(opts.dir, 'ca.crt'));
  } catch {
    if ((opts.scheme ?? 'https') === 'https') return new SourceFailure('not-configured', `in-cluster: no CA at ${join(opts.dir, 'ca.crt')}`);
  }
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return apiOver(`${opts.scheme ?? 'https'}://${host}:${opts.port}`, async (o) => {
    const token = (await readFile(join(opts.dir, 'token'), 'utf8')).trim();
    o.headers = { ...(o.headers as Record<string, string>), authorization: `Bearer ${token}` };
    if (ca) o.ca = ca;
    impersonate(o, select);
  });
}

function apiOver(base: string, authorize: (o: https.RequestOptions) => Promise<void>): KubeApi {
  const request = async (path: string, query: Record<string, string>, timeoutMs: number, maxBytes: number, headers: Record<string, string> = {}, post?: SendBody): Promise<{ status: number; body: Buffer }> => {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const requestOptions: https.RequestOptions = { method: post ? post.method : 'GET', headers: { accept: 'application/json', ...headers } };
    try {
      await authorize(requestOptions);
    } catch (e) {
      throw new SourceFailure<KubeErrorKind>('unauthorized', `could not obtain credentials: ${(e as Error).message.slice(0, 200)}`);
    }
    return rawGet(url, requestOptions, timeoutMs, maxBytes, post);
  };
  const send = async (path: string, body: SendBody, opts: { timeoutMs: number; maxBytes: number; what: string }): Promise<unknown> => {
    const res = await request(path, {}, opts.timeoutMs, opts.maxBytes, {}, body);
    if (res.status < 200 || res.status > 299) throw classifyKubeError({ code: res.status }, opts.what);
    try {
      return JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new SourceFailure<KubeErrorKind>('error', 'API server answered with invalid JSON');
    }
  };
  return {
    server: base,
    async getJson(path, query, opts) {
      const res = await request(path, query, opts.timeoutMs, opts.maxBytes, opts.headers ?? {});
      if (res.status !== 200) throw classifyKubeError({ code: res.status }, opts.what);
      try {
        return JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new SourceFailure<KubeErrorKind>('error', 'API server answered with invalid JSON');
      }
    },
    get: (path, opts) => request(path, {}, opts.timeoutMs, opts.maxBytes, opts.headers),
    postJson: (path, body, opts) => send(path, { method: 'POST', body: Buffer.from(JSON.stringify(body)), contentType: 'application/json' }, opts),
    patchJson: (path, body, opts) => send(path, { method: 'PATCH', body: Buffer.from(JSON.stringify(body)), contentType: 'application/merge-patch+json' }, opts),
  };
}

/** An answer over the byte cap: the caller may ask for less (a smaller page). */
export class AnswerTooLarge extends SourceFailure<KubeErrorKind> {
  constructor(readonly maxBytes: number) {
    super('error', `answer larger than ${maxBytes} bytes`);
  }
}

/** The API server's errors: a classified SourceFailure for every way a GET can fail. */
const KUBE_GET_ERRORS: CappedGetErrors = {
  tooLarge: (max) => new AnswerTooLarge(max),
  timeout: (kind, ms) =>
    new SourceFailure<KubeErrorKind>('timeout', kind === 'deadline' ? `no answer from the API server within ${ms} ms` : `API server connection idle for ${ms} ms`),
};

// gzip is accepted: the API server compresses large lists, and its pod proxy passes agents' gzip through.
async function rawGet(url: URL, opts: https.RequestOptions, timeoutMs: number, maxBytes: number, post?: SendBody): Promise<{ status: number; body: Buffer }> {
  try {
    return await getCapped(url, opts, timeoutMs, maxBytes, KUBE_GET_ERRORS, post);
  } catch (e) {
    throw classifyKubeError(e);
  }
}

export function classifyKubeError(e: unknown, what = 'list pods'): SourceFailure<KubeErrorKind> {
  if (e instanceof SourceFailure) return e as SourceFailure<KubeErrorKind>;
  const err = e as { code?: unknown; message?: string };
  const status = typeof err.code === 'number' ? err.code : undefined;
  if (status === 401) return new SourceFailure('unauthorized', 'the API server rejected the credentials (401)');
  if (status === 403) return new SourceFailure('forbidden', `not allowed to ${what} (403): check the RBAC in deploy/`);
  if (status !== undefined) return new SourceFailure('error', `${what} failed with HTTP ${status}`);
  const code = typeof err.code === 'string' ? err.code : '';
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EAI_AGAIN|ENETUNREACH/.test(code)) {
    return new SourceFailure('unreachable', `API server unreachable (${code})`);
  }
  if (/CERT|SSL|TLS|SELF_SIGNED/.test(code)) return new SourceFailure('error', `TLS error talking to the API server (${code})`);
  return new SourceFailure('error', `${what} failed: ${(err.message ?? String(e)).slice(0, 200)}`);
}
