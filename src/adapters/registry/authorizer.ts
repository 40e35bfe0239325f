/**
 * Registry authorisation as containerd does it: remember each host's challenge; for
 * Bearer, fetch a token from the realm (with basic credentials when configured) for the
 * repository's pull scope and reuse it until it expires; for Basic, send the
 * credentials. Tokens and credentials never leave this object.
 */
import type { TagUnverified } from '../../domain/tag-truth.js';
import type { Challenge, Credential } from './auth.js';
import { httpRequest, TransportError, type AgentPool, type HttpResponse, type TlsSettings } from './http.js';

const MAX_TOKEN_BYTES = 64 * 1024;

function fail(kind: TagUnverified['kind'], message: string): TagUnverified {
  return { ok: false, kind, message };
}

export class Authorizer {
  private readonly tokens = new Map<string, { token: string; expires: number }>();
  private readonly challenges = new Map<string, Challenge>();

  constructor(
    private readonly agents: AgentPool,
    private readonly now: () => number,
    private readonly connectTimeoutMs: number,
    private readonly timeoutMs: number,
    private readonly count: (host: string, method: string, code: string) => void,
  ) {}

  remember(host: string, challenge: Challenge): void {
    this.challenges.set(host, challenge);
  }

  /** The Authorization header for `host` and `scope`, fetching a token when a Bearer challenge is known. */
  async authorizationFor(host: string, scope: string, cred: Credential | undefined, tls: TlsSettings | undefined, afterChallenge: boolean): Promise<{ value: string } | TagUnverified | undefined> {
    const challenge = this.challenges.get(host);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      if (!cred?.username || !cred.password) return afterChallenge ? fail('auth', `${host}: asks for basic auth and no credentials are configured`) : undefined;
      return { value: `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}` };
    }
    if (cred?.registryToken) return { value: `Bearer ${cred.registryToken}` };
    const key = `${challenge.realm}|${challenge.service ?? ''}|${scope}|${cred?.username ?? ''}`;
    const cached = this.tokens.get(key);
    if (cached && cached.expires > this.now()) return { value: `Bearer ${cached.token}` };
    const realm = new URL(challenge.realm!);
    if (challenge.service !== undefined) realm.searchParams.set('service', challenge.service);
    realm.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (cred?.username && cred.password) headers['authorization'] = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
    let res: HttpResponse;
    try {
      res = await httpRequest(
        { method: 'GET', url: realm, headers, ...(realm.host === host && tls ? { tls } : {}), connectTimeoutMs: this.connectTimeoutMs, totalTimeoutMs: this.timeoutMs, maxBodyBytes: MAX_TOKEN_BYTES },
        this.agents,
      );
    } catch (e) {
      const kind = e instanceof TransportError ? e.kind : 'error';
      this.count(realm.host, 'GET', kind);
      return fail(kind === 'too-large' ? 'invalid-response' : 'unreachable', `token service ${realm.host}: ${kind}`);
    }
    this.count(realm.host, 'GET', String(res.status));
    if (res.status === 401 || res.status === 403) return fail('auth', `token service ${realm.host}: HTTP ${res.status} (credentials refused)`);
    if (res.status !== 200) return fail(res.status === 429 ? 'rate-limited' : 'auth', `token service ${realm.host}: HTTP ${res.status}`);
    let token: string | undefined;
    let expiresIn = 60;
    try {
      const doc = JSON.parse(res.body.toString('utf8')) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
      token = typeof doc.token === 'string' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : undefined;
      if (typeof doc.expires_in === 'number' && doc.expires_in > 0) expiresIn = doc.expires_in;
    } catch {
      token = undefined;
    }
    if (!token || token.length > 16_384 || /[\r\n]/.test(token)) return fail('invalid-response', `token service ${realm.host}: no usable token in the answer`);
    this.tokens.set(key, { token, expires: this.now() + Math.max(0, expiresIn - 10) * 1000 });
    return { value: `Bearer ${token}` };
  }
}
