/**
 * One HTTP exchange with a registry, with the limits a node agent needs: a connect
 * timeout, a total timeout, a cap on the body read, TLS settings per endpoint, and
 * no automatic redirects (the caller follows them, dropping credentials when the
 * host changes). Errors never carry request headers, URL user info or query values.
 */
import dns from 'node:dns';
import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import { createHash } from 'node:crypto';

export interface TlsSettings {
  /** PEM CA bundles (contents, not paths). */
  readonly ca?: readonly string[];
  readonly cert?: string;
  readonly key?: string;
  readonly skipVerify?: boolean;
}

export interface HttpRequest {
  readonly method: 'HEAD' | 'GET';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly tls?: TlsSettings;
  readonly connectTimeoutMs: number;
  readonly totalTimeoutMs: number;
  /** Bytes of body to accept; a longer body fails with `too-large`. */
  readonly maxBodyBytes: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export type TransportErrorKind = 'connect-timeout' | 'timeout' | 'refused' | 'dns' | 'tls' | 'reset' | 'too-large' | 'forbidden-address' | 'error';

/** Why an address may not be contacted, or undefined when it may (see domain/addresses.ts). */
export type AddressPolicy = (ip: string) => string | undefined;

export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** `https://host:port/path` without user info or query: safe for logs and findings. */
export function safeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function classify(err: NodeJS.ErrnoException): TransportError {
  if (err instanceof TransportError) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof TransportError) return cause;
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return new TransportError('refused', 'connection refused');
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new TransportError('dns', 'host name does not resolve');
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return new TransportError('reset', 'connection reset');
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new TransportError('refused', 'host unreachable');
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code) || /certificate|ssl|tls/i.test(err.message ?? '')) {
    return new TransportError('tls', `TLS: ${code || 'handshake failed'}`);
  }
  return new TransportError('error', code || 'request failed');
}

/** Keep-alive agents, one per TLS identity, so repeated checks reuse connections. */
export class AgentPool {
  private readonly agents = new Map<string, http.Agent>();

  /**
   * With a policy, a host name is resolved once per connection and every address it resolves to
   * must pass; the connection uses the address that was checked (no second lookup to rebind).
   */
  constructor(readonly policy?: AddressPolicy) {}

  private lookup(): net.LookupFunction | undefined {
    const policy = this.policy;
    if (!policy) return undefined;
    return ((hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
      dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const list = addresses as dns.LookupAddress[];
        for (const a of list) {
          const why = policy(a.address);
          if (why) return callback(new TransportError('forbidden-address', `${hostname} resolves to ${why}: not contacted`), '', 0);
        }
        if (options.all) return callback(null, list);
        return callback(null, list[0]!.address, list[0]!.family);
      });
    }) as net.LookupFunction;
  }

  get(url: URL, tls: TlsSettings | undefined): http.Agent {
    const isHttps = url.protocol === 'https:';
    const identity = isHttps ? createHash('sha256').update(JSON.stringify([tls?.ca ?? [], tls?.cert ?? '', tls?.key ?? '', tls?.skipVerify ?? false])).digest('hex') : '';
    const key = `${url.protocol}//${url.host}|${identity}`;
    let agent = this.agents.get(key);
    if (!agent) {
      const lookup = this.lookup();
      const base = { keepAlive: true, maxSockets: 8, maxFreeSockets: 4, timeout: 30_000, ...(lookup ? { lookup } : {}) };
      agent = isHttps
        ? new https.Agent({
            ...base,
            ...(tls?.ca && tls.ca.length > 0 ? { ca: [...tls.ca] } : {}),
            ...(tls?.cert ? { cert: tls.cert } : {}),
            ...(tls?.key ? { key: tls.key } : {}),
            rejectUnauthorized: !(tls?.skipVerify ?? false),
          })
        : new http.Agent(base);
      this.agents.set(key, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

export function httpRequest(req: HttpRequest, agents: AgentPool): Promise<HttpResponse> {
  const literal = req.url.hostname.replace(/^\[|\]$/g, '');
  if (agents.policy && net.isIP(literal)) {
    const why = agents.policy(literal);
    if (why) return Promise.reject(new TransportError('forbidden-address', `${req.url.host} is ${why}: not contacted`));
  }
  return new Promise<HttpResponse>((resolve, reject) => {
    const mod = req.url.protocol === 'https:' ? https : http;
    let settled = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const finish = (err: TransportError | undefined, res?: HttpResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(totalTimer);
      clearTimeout(connectTimer);
      if (err) reject(err);
      else resolve(res!);
    };
    const r = mod.request(req.url, {
      method: req.method,
      headers: { 'user-agent': 'tagdrift', ...req.headers },
      agent: agents.get(req.url, req.tls),
    });
    const totalTimer = setTimeout(() => {
      const e = new TransportError('timeout', `no complete answer within ${req.totalTimeoutMs} ms`);
      finish(e);
      r.destroy(e);
    }, req.totalTimeoutMs);
    r.on('socket', (socket) => {
      if (!socket.connecting) return;
      connectTimer = setTimeout(() => {
        const e = new TransportError('connect-timeout', `no connection within ${req.connectTimeoutMs} ms`);
        finish(e);
        r.destroy(e);
      }, req.connectTimeoutMs);
      socket.once(req.url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    r.on('error', (err) => finish(classify(err)));
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const declared = Number(res.headers['content-length']);
      if (req.method === 'GET' && Number.isFinite(declared) && declared > req.maxBodyBytes) {
        const e = new TransportError('too-large', `body of ${declared} bytes exceeds the ${req.maxBodyBytes}-byte cap`);
        finish(e);
        r.destroy(e);
        return;
      }
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > req.maxBodyBytes) {
          const e = new TransportError('too-large', `body exceeds the ${req.maxBodyBytes}-byte cap`);
          finish(e);
          r.destroy(e);
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => finish(classify(err)));
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    r.end();
  });
}
