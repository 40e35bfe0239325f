/**
 * Who may read the agent's detailed API (`/v1/*`: every container of the node, digests,
 * build labels, mirror URLs). Health and `/metrics` stay open: probes and Prometheus need
 * them and they carry counts, not inventory.
 *
 * - From the pod's own loopback (127.0.0.1, ::1): allowed. That is where `kubectl
 *   port-forward` arrives, and only someone the API server let create `pods/portforward`
 *   can use it.
 * - Otherwise a bearer token is required (`Authorization`, or `X-Tagdrift-Authorization`,
 *   which survives the API server's pod proxy: the API server removes `Authorization` once
 *   it has authenticated the caller). It is authenticated with a TokenReview (audience
 *   `tagdrift` first, then the API server's own) and authorised with a SubjectAccessReview:
 *   may this identity `get pods/proxy` on this agent pod, the permission the cluster
 *   command's path already needs. This is kubelet's webhook mode and kube-rbac-proxy's model.
 * - Decisions are cached by token hash (allowed 2 min, denied 30 s, 1,024 entries). When the
 *   API cannot be asked the request is refused (503), never let through.
 */
import { createHash } from 'node:crypto';
import type { KubeApi } from '../adapters/kube/api.js';

export type ApiAuthMode = 'kubernetes' | 'none';
export const TOKEN_AUDIENCE = 'tagdrift';

/** An identity the Kubernetes API authenticated (TokenReview status.user). */
export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

export type AuthDecision = { ok: true; who: string } | { ok: false; status: 401 | 403 | 503; reason: string };

export interface ApiAuthorizer {
  authorize(remoteAddress: string | undefined, headers: Record<string, string | string[] | undefined>): Promise<AuthDecision>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const ALLOW_TTL_MS = 120_000;
const DENY_TTL_MS = 30_000;
const MAX_CACHED = 1024;
/** Token reviews in flight at once; beyond it a request is refused at once (503) instead of queueing. */
export const MAX_REVIEWS_IN_FLIGHT = 8;

export function bearerToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of ['x-tagdrift-authorization', 'authorization']) {
    const v = headers[name];
    const s = Array.isArray(v) ? v[0] : v;
    const m = s ? /^Bearer\s+(\S+)\s*$/i.exec(s) : null;
    if (m) return m[1];
  }
  return undefined;
}

export function createApiAuthorizer(opts: {
  mode: ApiAuthMode;
  api: KubeApi | undefined;
  namespace: string;
  podName: string;
  timeoutMs?: number;
  now?: () => number;
  /**
   * Who may, once the token is authenticated: by default a SubjectAccessReview for
   * `get pods/proxy` on this pod; the shared resolver admits its configured callers instead.
   */
  authorizeUser?: (user: ReviewedUser) => AuthDecision;
  /** Whether the pod's loopback (kubectl port-forward) needs no token; default yes. */
  allowLoopback?: boolean;
  /** Audiences tried in order (undefined = the API server's own); default the agent's, then the API server's. */
  audiences?: readonly (readonly string[] | undefined)[];
}): ApiAuthorizer {
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { until: number; decision: AuthDecision }>();
  // One review per token at a time, whoever asks: the others wait for its decision.
  const inFlight = new Map<string, Promise<AuthDecision>>();
  const timeoutMs = opts.timeoutMs ?? 5_000;

  async function review(token: string): Promise<AuthDecision> {
    const api = opts.api;
    if (!api) return { ok: false, status: 401, reason: 'this agent has no Kubernetes API access to check tokens: use kubectl port-forward' };
    let user: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> } | undefined;
    for (const audiences of opts.audiences ?? [[TOKEN_AUDIENCE], undefined]) {
      const tr = (await api.postJson('/apis/authentication.k8s.io/v1/tokenreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token, ...(audiences ? { audiences } : {}) },
      }, { timeoutMs, maxBytes: 64 * 1024, what: 'create tokenreviews' })) as { status?: { authenticated?: boolean; user?: typeof user } };
      if (tr.status?.authenticated === true && tr.status.user?.username) {
        user = tr.status.user;
        break;
      }
    }
    if (!user) return { ok: false, status: 401, reason: 'the token was not accepted by the Kubernetes API' };
    if (opts.authorizeUser) return opts.authorizeUser(user as ReviewedUser);
    const sar = (await api.postJson('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.username,
        ...(user.uid ? { uid: user.uid } : {}),
        groups: user.groups ?? [],
        ...(user.extra ? { extra: user.extra } : {}),
        resourceAttributes: { namespace: opts.namespace, verb: 'get', resource: 'pods', subresource: 'proxy', name: opts.podName },
      },
    }, { timeoutMs, maxBytes: 64 * 1024, what: 'create subjectaccessreviews' })) as { status?: { allowed?: boolean } };
    if (sar.status?.allowed !== true) return { ok: false, status: 403, reason: `${user.username} may not get pods/proxy on ${opts.namespace}/${opts.podName}` };
    return { ok: true, who: user.username! };
  }

  return {
    async authorize(remoteAddress, headers) {
      if (opts.mode === 'none') return { ok: true, who: 'anyone (--api-auth none)' };
      if (opts.allowLoopback !== false && remoteAddress && LOOPBACK.has(remoteAddress)) return { ok: true, who: 'loopback' };
      const token = bearerToken(headers);
      if (!token) return { ok: false, status: 401, reason: 'a bearer token is required (X-Tagdrift-Authorization or Authorization), or use kubectl port-forward' };
      const key = createHash('sha256').update(token).digest('hex');
      const hit = cache.get(key);
      if (hit && hit.until > now()) return hit.decision;
      const pending = inFlight.get(key);
      if (pending) return pending;
      if (inFlight.size >= MAX_REVIEWS_IN_FLIGHT) return { ok: false, status: 503, reason: 'too many token reviews in flight: try again shortly' };
      const p = review(token).then(
        (decision) => {
          if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
          cache.set(key, { until: now() + (decision.ok ? ALLOW_TTL_MS : DENY_TTL_MS), decision });
          return decision;
        },
        (): AuthDecision => ({ ok: false, status: 503, reason: 'the Kubernetes API could not be asked to check the token' }),
      ).finally(() => inFlight.delete(key));
      inFlight.set(key, p);
      return p;
    },
  };
}
