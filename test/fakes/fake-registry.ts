/**
 * A fake distribution registry on a real loopback socket, for fast tests and fault
 * injection. It speaks the parts of the API the agent uses (and the push calls the
 * tests use to fill it), negotiates index media types like distribution does, and
 * can require token auth. Faults are set per manifest path.
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];

export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'hang' }
  | { kind: 'html' }
  | { kind: 'no-digest-header' }
  | { kind: 'wrong-digest-header' }
  | { kind: 'oversized'; bytes: number }
  | { kind: 'redirect-loop' }
  | { kind: 'no-head' }
  /** Drops the connection without answering, once; then answers normally. */
  | { kind: 'reset-once' };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly authorization: string | undefined;
  readonly accept: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
}

interface Stored {
  bytes: Buffer;
  mediaType: string;
}

export class FakeRegistry {
  readonly requests: RecordedRequest[] = [];
  private server: http.Server | undefined;
  private readonly manifests = new Map<string, Stored>(); // repo@digest
  private readonly tags = new Map<string, string>(); // repo:tag -> digest
  private readonly blobs = new Map<string, Buffer>();
  private readonly uploads = new Map<string, Buffer[]>();
  private readonly faults = new Map<string, Fault>();
  private readonly hanging = new Set<http.ServerResponse>();
  private auth: { user: string; password: string; token: string; basic?: boolean } | undefined;
  /** Extra response headers on every manifest answer (e.g. Docker Hub's ratelimit headers). */
  extraHeaders: Record<string, string> = {};
  url = '';
  host = '';

  /** Listens on loopback; with `tls` it serves HTTPS with that key and certificate (and requires client certificates signed by `clientCa`). */
  async start(tls?: { key: string; cert: string; clientCa?: string }, host = '127.0.0.1'): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handle(req, res);
    this.server = tls
      ? https.createServer({ key: tls.key, cert: tls.cert, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) }, handler)
      : http.createServer(handler);
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.host = `${host}:${port}`;
    this.url = `${tls ? 'https' : 'http'}://${this.host}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Requires Bearer tokens from `/token` (basic credentials `user:password` when given). */
  requireToken(user: string, password: string): this {
    this.auth = { user, password, token: `tok-${randomUUID()}` };
    return this;
  }

  /** Requires HTTP Basic credentials `user:password` on every request (distribution's htpasswd mode). */
  requireBasic(user: string, password: string): this {
    this.auth = { user, password, token: '', basic: true };
    return this;
  }

  /** A fault on `/v2/<repo>/manifests/<ref>`; `undefined` clears it. */
  setFault(repo: string, ref: string, fault: Fault | undefined): void {
    const key = `${repo}:${ref}`;
    if (fault) this.faults.set(key, fault);
    else this.faults.delete(key);
  }

  /** Stores a manifest by digest and optionally tags it (no blobs needed for resolve tests). */
  putManifest(repo: string, bytes: Buffer, mediaType: string, tag?: string): string {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    this.manifests.set(`${repo}@${digest}`, { bytes, mediaType });
    if (tag) this.tags.set(`${repo}:${tag}`, digest);
    return digest;
  }

  manifestRequests(method?: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.includes('/manifests/') && (!method || r.method === method));
  }

  private authorized(req: http.IncomingMessage): boolean {
    if (!this.auth) return true;
    if (this.auth.basic) return req.headers.authorization === `Basic ${Buffer.from(`${this.auth.user}:${this.auth.password}`).toString('base64')}`;
    return req.headers.authorization === `Bearer ${this.auth.token}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      accept: req.headers.accept,
      headers: req.headers,
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.route(req, res, url, Buffer.concat(chunks)));
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: Buffer): void {
    const p = url.pathname;
    if (p === '/token') {
      if (!this.auth) return end(res, 404);
      const expected = `Basic ${Buffer.from(`${this.auth.user}:${this.auth.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) return end(res, 401, {}, '{"details":"bad credentials"}');
      return end(res, 200, { 'content-type': 'application/json' }, JSON.stringify({ token: this.auth.token, expires_in: 300 }));
    }
    if (!this.authorized(req)) {
      return end(res, 401, {
        'www-authenticate': this.auth?.basic ? 'Basic realm="fake-registry"' : `Bearer realm="${this.url}/token",service="fake-registry",scope="repository:x:pull"`,
        'content-type': 'application/json',
      }, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    }
    if (p === '/v2/' || p === '/v2') return end(res, 200, { 'content-type': 'application/json' }, '{}');
    const up = /^\/v2\/(.+)\/blobs\/uploads\/([\w-]*)$/.exec(p);
    if (up) {
      if (req.method === 'POST') {
        const id = randomUUID();
        this.uploads.set(id, []);
        return end(res, 202, { location: `/v2/${up[1]}/blobs/uploads/${id}` });
      }
      if (req.method === 'PUT' && this.uploads.has(up[2]!)) {
        const digest = url.searchParams.get('digest') ?? '';
        this.blobs.set(digest, body);
        this.uploads.delete(up[2]!);
        return end(res, 201, { 'docker-content-digest': digest });
      }
      return end(res, 404);
    }
    const bm = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(p);
    if (bm) {
      const b = this.blobs.get(bm[2]!);
      if (!b) return end(res, 404, { 'content-type': 'application/json' }, '{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      return end(res, 200, { 'content-type': 'application/octet-stream', 'docker-content-digest': bm[2]! }, req.method === 'HEAD' ? undefined : b, b.length);
    }
    const mm = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(p);
    if (!mm) return end(res, 404);
    const [, repo, ref] = mm as unknown as [string, string, string];
    if (req.method === 'PUT') {
      const digest = this.putManifest(repo, body, (req.headers['content-type'] ?? '').split(';')[0]!, ref.startsWith('sha256:') ? undefined : ref);
      return end(res, 201, { 'docker-content-digest': digest });
    }
    const fault = this.faults.get(`${repo}:${ref}`);
    if (fault) return this.fault(fault, req, res, repo, ref);
    const digest = ref.startsWith('sha256:') ? ref : this.tags.get(`${repo}:${ref}`);
    const stored = digest ? this.manifests.get(`${repo}@${digest}`) : undefined;
    if (!digest || !stored) return end(res, 404, { 'content-type': 'application/json' }, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    if (INDEX_TYPES.includes(stored.mediaType)) {
      const accept = req.headers.accept ?? '';
      if (!accept.includes(stored.mediaType)) {
        return end(res, 404, { 'content-type': 'application/json' }, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"OCI index found, but accept header does not support OCI indexes"}]}');
      }
    }
    const headers = { 'content-type': stored.mediaType, 'docker-content-digest': digest, ...this.extraHeaders };
    return end(res, 200, headers, req.method === 'HEAD' ? undefined : stored.bytes, stored.bytes.length);
  }

  private fault(f: Fault, req: http.IncomingMessage, res: http.ServerResponse, repo: string, ref: string): void {
    const head = req.method === 'HEAD';
    switch (f.kind) {
      case 'status':
        return end(res, f.status, f.headers ?? {}, head ? undefined : f.body);
      case 'hang':
        this.hanging.add(res);
        return;
      case 'html':
        return end(res, 200, { 'content-type': 'text/html' }, head ? undefined : '<html><body>Welcome to the proxy</body></html>');
      case 'no-digest-header':
      case 'wrong-digest-header': {
        const digest = this.tags.get(`${repo}:${ref}`);
        const stored = digest ? this.manifests.get(`${repo}@${digest}`) : undefined;
        if (!stored) return end(res, 404);
        const h: Record<string, string> = { 'content-type': stored.mediaType };
        if (f.kind === 'wrong-digest-header') h['docker-content-digest'] = `sha256:${'0'.repeat(64)}`;
        if (f.kind === 'wrong-digest-header' && head) return end(res, 200, { 'content-type': stored.mediaType }, undefined, stored.bytes.length);
        return end(res, 200, h, head ? undefined : stored.bytes, stored.bytes.length);
      }
      case 'oversized':
        if (head) return end(res, 200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        return end(res, 200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, Buffer.alloc(f.bytes, 0x20));
      case 'redirect-loop':
        return end(res, 307, { location: req.url ?? '/' });
      case 'reset-once':
        this.faults.delete(`${repo}:${ref}`);
        req.socket.destroy();
        return;
      case 'no-head':
        if (head) return end(res, 405);
        this.faults.delete(`${repo}:${ref}`);
        this.route(req, res, new URL(req.url ?? '/', 'http://x'), Buffer.alloc(0));
        this.faults.set(`${repo}:${ref}`, f);
        return;
    }
  }
}

function end(res: http.ServerResponse, status: number, headers: Record<string, string> = {}, body?: string | Buffer, length?: number): void {
  const h: Record<string, string | number> = { ...headers };
  if (length !== undefined) h['content-length'] = length;
  else if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
  res.writeHead(status, h);
  res.end(body);
}
