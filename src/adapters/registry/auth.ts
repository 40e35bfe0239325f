/**
 * Registry authentication pieces, all pure or file-local: the `WWW-Authenticate`
 * challenge parser, `Retry-After`, and credentials from a docker `config.json`
 * (a mounted pull secret). Credentials stay in this process: nothing here logs,
 * and errors name the file and the entry, never a value.
 */
import { DOCKER_HUB, isDockerHubHost } from '../../domain/image-ref.js';

export interface Challenge {
  readonly scheme: 'bearer' | 'basic';
  readonly realm?: string;
  readonly service?: string;
  readonly scope?: string;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235 auth-params, quoted or token values).
 * Returns undefined for anything malformed or for schemes other than Bearer/Basic.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header || header.length > 4096) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)(?:\s+([\s\S]*))?$/.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  let rest = (m[2] ?? '').trim();
  while (rest.length > 0) {
    const p = /^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,\s*|$)/.exec(rest);
    if (!p) return undefined;
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    rest = rest.slice(p[0].length);
  }
  if (scheme === 'basic') return { scheme };
  const realm = params['realm'];
  if (!realm) return undefined;
  try {
    const u = new URL(realm);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
  } catch {
    return undefined;
  }
  return {
    scheme,
    realm,
    ...(params['service'] !== undefined ? { service: params['service'] } : {}),
    ...(params['scope'] !== undefined ? { scope: params['scope'] } : {}),
  };
}

/** Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date), capped; undefined when absent or invalid. */
export function parseRetryAfter(value: string | undefined, now: Date, capSeconds: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d{1,10}$/.test(v)) return Math.min(Number(v), capSeconds);
  if (v.length > 64 || !/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, Math.ceil((at - now.getTime()) / 1000)), capSeconds);
}

/** `ratelimit-remaining: 76;w=21600` → 76. */
export function parseRateLimitRemaining(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^\s*(\d{1,12})\s*(?:;|$)/.exec(value);
  return m ? Number(m[1]) : undefined;
}

export interface Credential {
  readonly username?: string;
  readonly password?: string;
  /** OAuth2 refresh token (`identitytoken`), exchanged at the token realm. */
  readonly identityToken?: string;
  /** A ready bearer token (`registrytoken`). */
  readonly registryToken?: string;
}

export class CredentialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialError';
  }
}

/** Normalises a config.json `auths` key (`https://index.docker.io/v1/`, `ghcr.io`, `http://r:5000/v2/`) to a host. */
export function authKeyHost(key: string): string {
  let host = key.trim();
  if (/^https?:\/\//i.test(host)) {
    try {
      host = new URL(host).host;
    } catch {
      return host;
    }
  } else host = host.split('/')[0]!;
  host = host.toLowerCase();
  return isDockerHubHost(host) ? DOCKER_HUB : host;
}

/**
 * Parses a docker `config.json` (or a `.dockercfg`-style map) into host → credential.
 * Throws CredentialError naming the problem without echoing values.
 */
export function parseDockerConfig(text: string, file: string): Map<string, Credential> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CredentialError(`${file}: not valid JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CredentialError(`${file}: expected a JSON object`);
  const root = doc as Record<string, unknown>;
  const auths = (typeof root['auths'] === 'object' && root['auths'] !== null ? root['auths'] : root) as Record<string, unknown>;
  const out = new Map<string, Credential>();
  for (const [key, entry] of Object.entries(auths)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    const str = (k: string): string | undefined => (typeof e[k] === 'string' && e[k] !== '' ? (e[k] as string) : undefined);
    let username = str('username');
    let password = str('password');
    const auth = str('auth');
    if (auth && (!username || !password)) {
      const decoded = Buffer.from(auth, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i <= 0) throw new CredentialError(`${file}: auths entry for ${authKeyHost(key)} has an auth value that is not base64 user:password`);
      username = decoded.slice(0, i);
      password = decoded.slice(i + 1);
    }
    const cred: Credential = {
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(str('identitytoken') ? { identityToken: str('identitytoken')! } : {}),
      ...(str('registrytoken') ? { registryToken: str('registrytoken')! } : {}),
    };
    if (Object.keys(cred).length > 0) out.set(authKeyHost(key), cred);
  }
  return out;
}
