/**
 * The registry client: what a tag points to now, asked the way containerd asks.
 *
 * `HEAD /v2/<repo>/manifests/<tag>` with containerd's Accept list (both manifest and
 * both index types, so a registry never rewrites a list to one platform), `?ns=` when
 * the contacted host is not the reference's own, and a GET fallback (capped at
 * 4 MiB) only when HEAD gives no `Docker-Content-Digest` or is refused with 405.
 *
 * Under load and faults: answers cached for a TTL, concurrent identical questions
 * share one request, a global and a per-host concurrency limit (a black-hole host
 * cannot occupy every slot), per-host backoff that honours `Retry-After`, connect
 * and total timeouts, and every failure classified. Nothing here throws to the
 * caller: every outcome is a value.
 */
import { createHash } from 'node:crypto';
import type { ImageBuildMeta } from '../../domain/snapshot.js';
import { validMediaType, type PlatformRead, type RegistryErrorKind, type TagResolved, type TagSince, type TagUnverified } from '../../domain/tag-truth.js';
import { TagAnswers } from './tag-answers.js';
import { hostPlatform, pickPlatformChild, type NodePlatform } from './platform.js';
import { HubGetBudget, PlatformReader } from './platform-read.js';
import { monotonicNow } from '../../domain/clock.js';
import { AgentPool, httpRequest, safeUrl, TransportError, type AddressPolicy, type HttpRequest, type HttpResponse, type TlsSettings } from './http.js';
import { parseChallenge, parseRateLimitRemaining, parseRetryAfter, type Credential } from './auth.js';
import { Authorizer } from './authorizer.js';
import { HostGate } from './host-gate.js';
import { errorCode, isIndex, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, parseManifest, type ManifestDoc } from './manifest.js';
import { SHA256_DIGEST as DIGEST_RE } from '../../domain/oci-grammar.js';
import { buildMetaFromConfig } from '../../domain/build-meta.js';
import { DOCKER_HUB, isDockerHubHost } from '../../domain/image-ref.js';


const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;

export interface RegistryEndpoint {
  /** Planned endpoint URL: scheme + host, plus the API path when it is not the default `/v2`. */
  readonly url: string;
  readonly tls?: TlsSettings;
  /** hosts.toml `header` values to send (kept in this process only). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The node's own credential for this endpoint's host (config.toml), kept in this process only. */
  readonly credential?: NodeCredential;
}

/** A credential the node holds for one endpoint host: where it is written, and the value or why it cannot be used. */
export interface NodeCredential {
  /** File and key, for messages: never a value. */
  readonly source: string;
  readonly value?: Credential;
  /** Why tagdrift cannot use what the node has (the kind of credential, never its value). */
  readonly unusable?: string;
}

export interface RegistryClientOptions {
  readonly connectTimeoutMs?: number;
  readonly timeoutMs?: number;
  readonly concurrency?: number;
  readonly perHostConcurrency?: number;
  readonly cacheTtlMs?: number;
  /** A cache period per endpoint (the shared resolver keeps answers of endpoints that notify it longer); default cacheTtlMs. */
  readonly cacheTtlFor?: (endpointUrl: string) => number;
  /** Upper bound on a `Retry-After` wait and on backoff. */
  readonly maxBackoffSeconds?: number;
  /** Registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000`) → credential. */
  readonly credentials?: ReadonlyMap<string, Credential>;
  /** Send a credential only to the host it is written for, never as the image registry's to another endpoint (the shared resolver). */
  readonly credentialsByHostOnly?: boolean;
  /** Addresses that may not be contacted, first request and every redirect (the shared resolver). */
  readonly addressPolicy?: AddressPolicy;
  readonly now?: () => number;
  /** Called once per HTTP exchange: host, method, status code or transport error kind. */
  readonly onRequest?: (host: string, method: string, code: string) => void;
  /** The node's platform: picks the child of an index the node would run. */
  readonly platform?: NodePlatform;
  /**
   * Manifest GETs allowed per 6 hours against Docker Hub, where each counts as a pull
   * (HEADs do not). They are spent only to read the node platform's image of an index
   * whose digest moved; the answers are cached by digest.
   */
  readonly dockerHubGetsPer6h?: number;
}


import type { RegistryStats } from '../../domain/tag-truth.js';

type Fail = TagUnverified;

function fail(kind: RegistryErrorKind, message: string): Fail {
  return { ok: false, kind, message };
}

/** One HTTP exchange; a transport failure is returned, not thrown. */
async function attempt(request: HttpRequest, agents: AgentPool): Promise<HttpResponse | TransportError> {
  try {
    return await httpRequest(request, agents);
  } catch (e) {
    return e instanceof TransportError ? e : new TransportError('error', 'request failed');
  }
}

/** Base URL of the API: `<url>/v2` unless the planned URL already carries a path. */
export function apiRoot(endpointUrl: string): string {
  const u = new URL(endpointUrl);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol}//${u.host}${path === '' ? '/v2' : path}`;
}

/** containerd's `isProxy`: `ns` is added when the contacted host is not the reference's host. */
export function needsNamespace(endpointHost: string, registry: string): boolean {
  if (endpointHost === registry) return false;
  return !(registry === 'docker.io' && endpointHost === 'registry-1.docker.io');
}

function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}


export class RegistryClient {
  private readonly agents: AgentPool;
  private readonly gate: HostGate;
  private readonly answers: TagAnswers;
  private readonly inflight = new Map<string, Promise<TagResolved | Fail>>();
  private readonly authorizer: Authorizer;
  private readonly rateLimit = new Map<string, number>();
  private readonly platforms: PlatformReader;
  private readonly o: Required<Omit<RegistryClientOptions, 'credentials' | 'onRequest' | 'credentialsByHostOnly' | 'addressPolicy' | 'cacheTtlFor'>> & Pick<RegistryClientOptions, 'onRequest' | 'cacheTtlFor'>;
  private readonly credentials: ReadonlyMap<string, Credential>;
  private readonly credentialsByHostOnly: boolean;

  constructor(options: RegistryClientOptions = {}) {
    this.o = {
      connectTimeoutMs: options.connectTimeoutMs ?? 3_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      concurrency: options.concurrency ?? 16,
      perHostConcurrency: options.perHostConcurrency ?? 4,
      cacheTtlMs: options.cacheTtlMs ?? 60_000,
      maxBackoffSeconds: options.maxBackoffSeconds ?? 900,
      now: options.now ?? monotonicNow,
      platform: options.platform ?? hostPlatform(),
      dockerHubGetsPer6h: options.dockerHubGetsPer6h ?? 24,
      onRequest: options.onRequest,
      cacheTtlFor: options.cacheTtlFor,
    };
    this.agents = new AgentPool(options.addressPolicy);
    this.credentialsByHostOnly = options.credentialsByHostOnly ?? false;
    this.gate = new HostGate(this.o.concurrency, this.o.perHostConcurrency, this.o.maxBackoffSeconds, this.o.now);
    this.authorizer = new Authorizer(this.agents, this.o.now, this.o.connectTimeoutMs, this.o.timeoutMs, (h, m, c) => this.count(h, m, c));
    this.credentials = options.credentials ?? new Map();
    this.answers = new TagAnswers(this.o.now, (url) => this.o.cacheTtlFor?.(url) ?? this.o.cacheTtlMs);
    this.platforms = new PlatformReader(this.o.platform, new HubGetBudget(this.o.dockerHubGetsPer6h, this.o.now, () => this.rateLimit));
  }

  stats(): RegistryStats {
    return { rateLimitRemaining: new Map(this.rateLimit) };
  }

  close(): void {
    this.agents.destroy();
  }

  /** The cached answer for `repository:tag` at this endpoint, while it is fresh; no request. */
  cachedTag(endpoint: RegistryEndpoint, registry: string, repository: string, tag: string): TagResolved | Fail | undefined {
    return this.answers.get(endpoint.url, registry, repository, tag);
  }

  /** What `repository:tag` points to at this endpoint now. Never rejects. */
  resolveTag(endpoint: RegistryEndpoint, registry: string, repository: string, tag: string): Promise<TagResolved | Fail> {
    const cached = this.answers.get(endpoint.url, registry, repository, tag);
    if (cached) return Promise.resolve(cached);
    const key = `${endpoint.url}|${registry}|${repository}|${tag}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const asked = this.o.now();
    const p = this.doResolve(endpoint, registry, repository, tag)
      .catch((e: unknown) => fail('invalid-response', `unexpected failure: ${(e as Error)?.name ?? 'error'}`))
      .then((answer) => this.answers.answered(endpoint.url, registry, repository, tag, asked, answer))
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** A push the endpoint announced (tag-answers.ts): no request is made. */
  notePush(endpointUrl: string, repository: string, tag: string, digest: string, mediaType: string | undefined): { since: TagSince; answers: number } {
    return this.answers.notePush(endpointUrl, repository, tag, digest, mediaType);
  }

  /** What the tag was seen to point to at this endpoint, oldest first (answers and notifications). */
  tagHistory(endpointUrl: string, repository: string, tag: string): readonly TagSince[] {
    return this.answers.tagHistory(endpointUrl, repository, tag);
  }

  /** The image a node of this client's platform runs from `digest` (platform-read.ts). */
  platformImage(endpoint: RegistryEndpoint, registry: string, repository: string, digest: string): Promise<PlatformRead> {
    const url = new URL(endpoint.url);
    return this.platforms.read(url.host, url.hostname, repository, digest, (d) => this.getManifest(endpoint, registry, repository, d));
  }

  /** OCI labels and `created` of the image behind `digest` (the platform child of an index). */
  async buildMeta(endpoint: RegistryEndpoint, registry: string, repository: string, digest: string): Promise<ImageBuildMeta | undefined> {
    try {
      let got = await this.getManifest(endpoint, registry, repository, digest);
      if (!got) return undefined;
      if (isIndex(got.mediaType, got.doc)) {
        const pick = pickPlatformChild(got.doc, this.o.platform);
        if (!pick || !DIGEST_RE.test(pick)) return undefined;
        got = await this.getManifest(endpoint, registry, repository, pick);
        if (!got) return undefined;
      }
      const configDigest = got.doc.config?.digest;
      if (!configDigest || !DIGEST_RE.test(configDigest)) return undefined;
      const res = await this.exchange(endpoint, registry, repository, 'GET', `blobs/${configDigest}`, { accept: '*/*' }, MAX_CONFIG_BYTES);
      if ('kind' in res || res.status !== 200) return undefined;
      return buildMetaFromConfig(JSON.parse(res.body.toString('utf8')));
    } catch {
      return undefined;
    }
  }

  private async getManifest(endpoint: RegistryEndpoint, registry: string, repository: string, digest: string): Promise<{ mediaType: string | undefined; doc: ManifestDoc } | undefined> {
    const res = await this.exchange(endpoint, registry, repository, 'GET', `manifests/${digest}`, { accept: MANIFEST_ACCEPT }, MAX_MANIFEST_BYTES);
    if ('kind' in res || res.status !== 200) return undefined;
    const doc = parseManifest(res.body);
    if (!doc) return undefined;
    const computed = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    if (computed !== digest) return undefined; // content must match what was asked for
    return { mediaType: doc.mediaType ?? header(res, 'content-type')?.split(';')[0], doc };
  }

  private async doResolve(endpoint: RegistryEndpoint, registry: string, repository: string, tag: string): Promise<TagResolved | Fail> {
    const path = `manifests/${tag}`;
    let res = await this.exchange(endpoint, registry, repository, 'HEAD', path, { accept: MANIFEST_ACCEPT }, 0);
    if ('kind' in res) return res;
    if (res.status === 405) {
      res = await this.exchange(endpoint, registry, repository, 'GET', path, { accept: MANIFEST_ACCEPT }, MAX_MANIFEST_BYTES);
      if ('kind' in res) return res;
    }
    const where = `${new URL(endpoint.url).host}`;
    const bad = this.statusFailure(res, where);
    if (bad) return bad;
    const contentType = header(res, 'content-type')?.split(';')[0]?.trim();
    const digest = header(res, 'docker-content-digest')?.trim();
    if (digest !== undefined && res.body.length === 0 && res.status === 200) {
      if (!DIGEST_RE.test(digest)) return fail('invalid-response', `${where}: Docker-Content-Digest is not a sha256 digest`);
      if (contentType && /^text\/html/i.test(contentType)) return fail('invalid-response', `${where}: answered an HTML page, not a manifest`);
      return { ok: true, digest, mediaType: validMediaType(contentType) };
    }
    // No digest header on HEAD (or the answer came from GET): read the manifest and hash it.
    if (res.body.length === 0) {
      res = await this.exchange(endpoint, registry, repository, 'GET', path, { accept: MANIFEST_ACCEPT }, MAX_MANIFEST_BYTES);
      if ('kind' in res) return res;
      const again = this.statusFailure(res, where);
      if (again) return again;
    }
    const doc = parseManifest(res.body);
    if (!doc) return fail('invalid-response', `${where}: the manifest for ${repository}:${tag} is not a JSON manifest`);
    const computed = `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    const headerDigest = header(res, 'docker-content-digest')?.trim();
    if (headerDigest !== undefined && headerDigest !== computed) {
      return fail('invalid-response', `${where}: Docker-Content-Digest does not match the manifest it served`);
    }
    const mediaType = validMediaType(doc.mediaType ?? (contentType && !/json$/.test(contentType) ? contentType : undefined) ?? contentType);
    const children = isIndex(mediaType, doc)
      ? (doc.manifests ?? []).map((m) => m.digest).filter((d): d is string => typeof d === 'string' && DIGEST_RE.test(d))
      : undefined;
    return { ok: true, digest: computed, mediaType, ...(children ? { children } : {}) };
  }

  /** A failure for a non-2xx answer (and the host's backoff updated), or undefined for 200. */
  private statusFailure(res: HttpResponse, where: string): Fail | undefined {
    const s = res.status;
    if (s === 200) return undefined;
    const code = errorCode(res.body);
    if (s === 404) return fail('not-found', `${where}: HTTP 404${code}`);
    if (s === 401 || s === 403) return fail('auth', `${where}: HTTP ${s}${code}`);
    if (s === 429) return fail('rate-limited', `${where}: HTTP 429${code}`);
    if (s >= 500) return fail('server-error', `${where}: HTTP ${s}${code}`);
    return fail('invalid-response', `${where}: unexpected HTTP ${s}`);
  }

  private count(host: string, method: string, code: string): void {
    this.o.onRequest?.(host, method, code);
  }

  /**
   * The credential for a request to `host`: --registry-auth-file's entry for the host or the
   * image's registry (what kubelet's pull secret is to containerd: it wins), else the node's own
   * `registry.configs."<host>".auth` when the endpoint's host is the one being contacted.
   */
  private credentialFor(host: string, registry: string, endpoint: RegistryEndpoint): { cred?: Credential; fromNode: boolean } {
    const given = this.credentials.get(isDockerHubHost(host) ? DOCKER_HUB : host) ?? (this.credentialsByHostOnly ? undefined : this.credentials.get(registry));
    if (given) return { cred: given, fromNode: false };
    const node = endpoint.credential?.value;
    return node ? { cred: node, fromNode: true } : { fromNode: false };
  }

  /** An auth failure says what the node has when it has something: never "no credentials" then. */
  private explainAuth<T>(res: T | Fail, endpoint: RegistryEndpoint, fromNode: boolean): T | Fail {
    if (typeof res !== 'object' || res === null || !('kind' in res) || (res as Fail).kind !== 'auth' || !endpoint.credential) return res;
    const f = res as Fail;
    const nc = endpoint.credential;
    if (fromNode) return { ...f, message: `${f.message} (credentials from the node's ${nc.source})` };
    if (nc.unusable) {
      const base = f.message.replace(/ and no credentials (are configured|for \S+)$/, '');
      return { ...f, message: `${base}: the node has credentials for this host in ${nc.source}, but tagdrift cannot use ${nc.unusable}` };
    }
    return f;
  }

  /**
   * One logical request: backoff gate, concurrency slots, auth (cached token or
   * challenge → token → retry once), redirects. Returns the final response or a failure.
   */
  private async exchange(
    endpoint: RegistryEndpoint,
    registry: string,
    repository: string,
    method: 'HEAD' | 'GET',
    path: string,
    extra: { accept: string },
    maxBody: number,
  ): Promise<HttpResponse | Fail> {
    const base = new URL(`${apiRoot(endpoint.url)}/${repository}/${path}`);
    if (needsNamespace(base.host, registry)) base.searchParams.set('ns', registry);
    const host = base.host;
    // Limits and backoff belong to the exact endpoint (scheme, host, port): a question with the
    // wrong scheme never puts the registry's real endpoint in backoff.
    const gateKey = base.origin;
    const closed = this.gate.closed(gateKey);
    if (closed) return closed;
    return this.gate.run(gateKey, async () => {
      const again = this.gate.closed(gateKey);
      if (again) return again;
      const { cred, fromNode } = this.credentialFor(host, registry, endpoint);
      const explain = <T>(r: T | Fail) => this.explainAuth(r, endpoint, fromNode);
      const scope = `repository:${repository}:pull`;
      let authz = await this.authorizer.authorizationFor(host, scope, cred, endpoint.tls, false);
      if (authz && 'kind' in authz) return explain(authz);
      let res = await this.send(endpoint, method, base, extra.accept, authz?.value, maxBody);
      if ('kind' in res) return res;
      if (res.status === 401 && res.from !== host) {
        // containerd picks credentials for the host that challenges: this one's never go to another.
        return fail('auth', `${host}: redirected to ${res.from}, which asks for credentials; ${host}'s credentials are sent to no other host`);
      }
      if (res.status === 401) {
        const challenge = parseChallenge(header(res, 'www-authenticate'));
        if (!challenge) return fail('auth', `${host}: HTTP 401 with a missing or malformed WWW-Authenticate challenge`);
        this.authorizer.remember(host, challenge);
        authz = await this.authorizer.authorizationFor(host, scope, cred, endpoint.tls, true);
        if (!authz) return explain(fail('auth', `${host}: HTTP 401 and no credentials for ${registry}`));
        if ('kind' in authz) return explain(authz);
        res = await this.send(endpoint, method, base, extra.accept, authz.value, maxBody);
        if ('kind' in res) return res;
        if (res.status === 401 || res.status === 403) return explain(this.statusFailure(res, host)!);
      }
      const remaining = parseRateLimitRemaining(header(res, 'ratelimit-remaining'));
      if (remaining !== undefined) this.rateLimit.set(host, remaining);
      if (res.status === 429 || res.status >= 500) {
        const retryAfter = parseRetryAfter(header(res, 'retry-after'), new Date(this.o.now()), this.o.maxBackoffSeconds);
        this.gate.failed(gateKey, res.status === 429 ? 'rate-limited' : 'server-error', retryAfter);
      } else this.gate.succeeded(gateKey);
      return res;
    });
  }

  /** Sends one request, following redirects (credentials dropped when the host changes). */
  private async send(endpoint: RegistryEndpoint, method: 'HEAD' | 'GET', url: URL, accept: string, authorization: string | undefined, maxBody: number): Promise<(HttpResponse & { readonly from: string }) | Fail> {
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const sameHost = current.host === url.host;
      const headers: Record<string, string> = { accept, ...(sameHost ? (endpoint.headers ?? {}) : {}) };
      if (authorization && sameHost) headers['authorization'] = authorization;
      const request = {
        method, url: current, headers, ...(sameHost && endpoint.tls ? { tls: endpoint.tls } : {}),
        connectTimeoutMs: this.o.connectTimeoutMs, totalTimeoutMs: this.o.timeoutMs, maxBodyBytes: method === 'HEAD' ? 0 : maxBody,
      };
      // A kept-alive connection the server closed as it was reused: once more on a new one
      // (HEAD and GET are idempotent), before counting the host as unreachable.
      let got = await attempt(request, this.agents);
      if (got instanceof TransportError && got.kind === 'reset') {
        this.count(current.host, method, 'reset');
        got = await attempt(request, this.agents);
      }
      if (got instanceof TransportError) {
        this.count(current.host, method, got.kind);
        if (got.kind === 'too-large') return fail('invalid-response', `${current.host}: ${got.message}`);
        if (got.kind === 'forbidden-address') return fail('invalid-response', got.message);
        this.gate.failed(url.origin, 'unreachable', undefined);
        return fail('unreachable', `${current.host}: ${got.message}`);
      }
      const res = got;
      this.count(current.host, method, String(res.status));
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        const location = header(res, 'location');
        if (!location) return fail('invalid-response', `${current.host}: HTTP ${res.status} without Location`);
        try {
          current = new URL(location, current);
        } catch {
          return fail('invalid-response', `${current.host}: HTTP ${res.status} with an invalid Location`);
        }
        continue;
      }
      return { ...res, from: current.host };
    }
    return fail('invalid-response', `${url.host}: more than ${MAX_REDIRECTS} redirects from ${safeUrl(url)}`);
  }
}
