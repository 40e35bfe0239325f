/**
 * A fake Kubernetes API on loopback: enough of it for tagdrift (pods by node or label,
 * one pod, nodes, the pod proxy to agents, /version), with fault switches. Not a conformance target: it serves what a
 * real API server returns for these reads.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { writeFileSync } from 'node:fs';

export interface FakePod {
  metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string>; ownerReferences?: object[] };
  spec: { nodeName: string; containers: { name: string; image: string; imagePullPolicy: string }[] };
  status: Record<string, unknown>;
}

export class FakeKubeApi {
  private server: Server | undefined;
  private readonly pods = new Map<string, FakePod>();
  private readonly nodes = new Set<string>();
  /** `namespace/pod:port` → the base URL the pod proxy forwards to (absent: the pod does not answer). */
  private readonly proxies = new Map<string, string>();
  readonly requests: string[] = [];
  /** Bearer tokens the fake's TokenReview accepts: token → user and the audiences it was minted for. */
  readonly tokens = new Map<string, { username: string; groups: string[]; audiences: string[] }>();
  /** Who may `get pods/proxy` (SubjectAccessReview), as `user namespace/pod` strings; `*` for any pod. */
  readonly proxyAllowed = new Set<string>();
  private minted = 0;
  /** Events posted (and patched) by agents, by `namespace/name`. */
  readonly events = new Map<string, any>();
  /** When set, event creates and patches are answered with this status (e.g. 403: no RBAC). */
  failEventsWith: number | undefined;
  /** When set, every API request is answered with this HTTP status. */
  failWith: number | undefined;
  port = 0;
  /** Served over TLS with this certificate (PEM) when set: what a pod's in-cluster client expects. */
  private tls: { cert: string; key: string } | undefined;

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** The serving certificate (self-signed, SAN IP:127.0.0.1): a service account's ca.crt. */
  get caCert(): string | undefined {
    return this.tls?.cert;
  }

  upsertPod(pod: FakePod): void {
    this.pods.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
  }

  addNode(name: string): void {
    this.nodes.add(name);
  }

  /** An agent pod on `node`; with `target` the pod proxy forwards `:port/proxy/…` there. */
  addAgentPod(namespace: string, name: string, node: string, labels: Record<string, string>, port: number, target: string | undefined): void {
    this.upsertPod({ metadata: { name, namespace, uid: `uid-${name}`, labels }, spec: { nodeName: node, containers: [{ name: 'agent', image: 'tagdrift', imagePullPolicy: 'IfNotPresent' }] }, status: { phase: 'Running' } });
    if (target) this.proxies.set(`${namespace}/${name}:${port}`, target);
    else this.proxies.delete(`${namespace}/${name}:${port}`);
  }

  deletePod(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
  }

  async start(options: { tls?: { cert: string; key: string } } = {}): Promise<void> {
    this.tls = options.tls;
    this.server = this.tls ? createTlsServer({ cert: this.tls.cert, key: this.tls.key }, (req, res) => this.handle(req, res)) : createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A kubeconfig pointing at this server with a bearer token. */
  writeKubeconfig(path: string, token = 'testbed-token'): void {
    writeFileSync(
      path,
      `apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: ${this.url}
    insecure-skip-tls-verify: true
contexts:
- name: testbed
  context:
    cluster: testbed
    user: testbed
current-context: testbed
users:
- name: testbed
  user:
    token: ${token}
`,
    );
  }

  /** Impersonation asked for (kubectl --as / --as-group), per request. */
  readonly impersonated: { user: string; groups: string[] }[] = [];

  /** TokenReview answers wait this long (a slow API server); reviews in flight are counted. */
  tokenReviewDelayMs = 0;
  reviewsInFlight = 0;
  maxReviewsInFlight = 0;

  /** Local address the pod proxy connects from (an API server is not on the agent's loopback). */
  proxySource: string | undefined;

  private handlePatch(path: string, body: any, send: (status: number, body: unknown) => void): void {
    const ev = /^\/api\/v1\/namespaces\/([^/]+)\/events\/([^/]+)$/.exec(path);
    if (!ev) return send(404, { kind: 'Status', code: 404 });
    if (this.failEventsWith) return send(this.failEventsWith, { kind: 'Status', code: this.failEventsWith });
    const key = `${ev[1]}/${decodeURIComponent(ev[2]!)}`;
    const cur = this.events.get(key);
    if (!cur) return send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
    this.events.set(key, { ...cur, ...body });
    return send(200, this.events.get(key));
  }

  private handlePost(path: string, body: any, send: (status: number, body: unknown) => void): void {
    const ev = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(path);
    if (ev) {
      if (this.failEventsWith) return send(this.failEventsWith, { kind: 'Status', code: this.failEventsWith });
      const key = `${ev[1]}/${body?.metadata?.name}`;
      if (this.events.has(key)) return send(409, { kind: 'Status', code: 409, reason: 'AlreadyExists' });
      this.events.set(key, body);
      return send(201, body);
    }
    if (path === '/apis/authentication.k8s.io/v1/tokenreviews') {
      this.reviewsInFlight += 1;
      this.maxReviewsInFlight = Math.max(this.maxReviewsInFlight, this.reviewsInFlight);
      const answer = (status: number, b: unknown): void => void setTimeout(() => {
        this.reviewsInFlight -= 1;
        send(status, b);
      }, this.tokenReviewDelayMs);
      const t = this.tokens.get(body?.spec?.token);
      const wanted: string[] | undefined = body?.spec?.audiences;
      const ok = !!t && (!wanted || wanted.some((a) => t.audiences.includes(a))) && (!!wanted || t.audiences.includes('https://kubernetes.default.svc'));
      return answer(201, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status: ok ? { authenticated: true, user: { username: t!.username, groups: t!.groups }, audiences: wanted ?? ['https://kubernetes.default.svc'] } : { authenticated: false } });
    }
    if (path === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
      const a = body?.spec?.resourceAttributes ?? {};
      const user = body?.spec?.user;
      const allowed = a.verb === 'get' && a.resource === 'pods' && a.subresource === 'proxy' && (this.proxyAllowed.has(`${user} ${a.namespace}/${a.name}`) || this.proxyAllowed.has(`${user} *`));
      return send(201, { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status: { allowed } });
    }
    const tr = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(path);
    if (tr) {
      const token = `minted-${tr[1]}-${tr[2]}-${++this.minted}`;
      this.tokens.set(token, { username: `system:serviceaccount:${tr[1]}:${tr[2]}`, groups: ['system:serviceaccounts'], audiences: body?.spec?.audiences ?? ['https://kubernetes.default.svc'] });
      return send(201, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', status: { token, expirationTimestamp: new Date(Date.now() + 600_000).toISOString() } });
    }
    return send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    const asUser = req.headers['impersonate-user'];
    if (asUser) this.impersonated.push({ user: String(asUser), groups: req.headersDistinct['impersonate-group'] ?? [] });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.failWith) {
      return send(this.failWith, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: this.failWith, reason: 'Injected' });
    }
    if (req.method === 'POST' || req.method === 'PATCH') {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        let body: any;
        try {
          body = JSON.parse(raw);
        } catch {
          return send(400, { kind: 'Status', code: 400 });
        }
        if (req.method === 'PATCH') return this.handlePatch(url.pathname, body, send);
        this.handlePost(url.pathname, body, send);
      });
      return;
    }
    if (req.method !== 'GET') return send(405, { kind: 'Status', code: 405 });
    if (url.pathname === '/version') return send(200, { major: '1', minor: '30', gitVersion: 'v1.30.0-testbed' });
    // Paging as the API server does it: `limit` items, then an opaque `continue` token.
    const list = (items: FakePod[]) => {
      const limit = Number(url.searchParams.get('limit') ?? 0);
      const from = Number(url.searchParams.get('continue') ?? 0) || 0;
      const page = limit > 0 ? items.slice(from, from + limit) : items;
      const next = limit > 0 && from + limit < items.length ? String(from + limit) : undefined;
      // The table form kubectl asks for (Accept: …;as=Table): one row per item, cells only.
      if ((req.headers.accept ?? '').includes('as=Table')) {
        return send(200, {
          apiVersion: 'meta.k8s.io/v1', kind: 'Table', metadata: { resourceVersion: '1', ...(next ? { continue: next } : {}) },
          columnDefinitions: [{ name: 'Name', type: 'string' }, { name: 'Status', type: 'string' }],
          rows: page.map((p: any) => ({ cells: [p.metadata?.name, p.status?.phase ?? ''] })),
        });
      }
      send(200, { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '1', ...(next ? { continue: next } : {}) }, items: page.map((p) => ({ apiVersion: 'v1', kind: 'Pod', ...p })) });
    };
    const proxy = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/proxy(\/.*)$/.exec(url.pathname);
    if (proxy) {
      const target = this.proxies.get(`${proxy[1]}/${decodeURIComponent(proxy[2]!)}`);
      // The API server answers 503 when it cannot reach the pod.
      if (!target) return send(503, { kind: 'Status', code: 503, message: 'error trying to reach service: dial tcp: connect: connection refused' });
      // Like the API server's proxy: request headers forwarded, the answer passed through as it is.
      // The API server removes Authorization (it authenticated the caller) and forwards the rest.
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['authorization', 'host', 'connection'].includes(k)) headers[k] = v;
      const up = request(`${target}${proxy[3]}${url.search}`, { headers, ...(this.proxySource ? { localAddress: this.proxySource } : {}) }, (r) => {
        const encoding = r.headers['content-encoding'];
        res.writeHead(r.statusCode ?? 502, { 'content-type': r.headers['content-type'] ?? 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) });
        r.pipe(res);
      });
      up.on('error', () => send(503, { kind: 'Status', code: 503, message: 'error trying to reach service' }));
      up.end();
      return;
    }
    if (url.pathname === '/api/v1/nodes') {
      return send(200, { apiVersion: 'v1', kind: 'NodeList', items: [...this.nodes].map((n) => ({ metadata: { name: n } })) });
    }
    const fieldSelector = url.searchParams.get('fieldSelector') ?? '';
    const byNode = /^spec\.nodeName=(.+)$/.exec(fieldSelector);
    const labelSelector = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((kv) => kv.split('='));
    const filter = (p: FakePod) =>
      (!byNode || p.spec.nodeName === byNode[1]) && labelSelector.every(([k, v]) => p.metadata.labels?.[k!] === v);
    if (url.pathname === '/api/v1/pods') return list([...this.pods.values()].filter(filter));
    const nsList = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (nsList) return list([...this.pods.values()].filter((p) => p.metadata.namespace === nsList[1] && filter(p)));
    const one = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const pod = this.pods.get(`${one[1]}/${one[2]}`);
      return pod ? send(200, { apiVersion: 'v1', kind: 'Pod', ...pod }) : send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
    }
    // Workloads (apps/v1), as the API server serves them; with the PartialObjectMetadata Accept, metadata only.
    const wl = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets|daemonsets)\/([^/]+)$/.exec(url.pathname);
    if (wl) {
      const obj = this.workloads.get(`${wl[1]}/${wl[2]}/${wl[3]}`);
      if (!obj) return send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
      if ((req.headers.accept ?? '').includes('as=PartialObjectMetadata')) {
        return send(200, { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { ...obj.metadata, namespace: wl[1] } });
      }
      return send(200, { apiVersion: 'apps/v1', ...obj });
    }
    return send(404, { kind: 'Status', code: 404, reason: 'NotFound' });
  }

  /** Workloads by `namespace/plural/name` (deployments, statefulsets, daemonsets). */
  readonly workloads = new Map<string, { kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> } }>();

  upsertWorkload(namespace: string, kind: 'Deployment' | 'StatefulSet' | 'DaemonSet', name: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): void {
    const plural = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' }[kind];
    this.workloads.set(`${namespace}/${plural}/${name}`, { kind, metadata: { name, ...meta } });
  }
}
