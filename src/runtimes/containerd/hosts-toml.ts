/**
 * Pure parser for containerd's hosts.toml (core/remotes/docker/config/hosts.go):
 * `[host."…"]` tables in file order, then one final entry from the root keys —
 * `server`, or the registry's default upstream when `server` is absent. A file
 * containerd would reject (bad TOML, duplicate tables, unknown capability, wrong
 * types) yields `ignoredBecause`: containerd logs it and silently falls back to the
 * default upstream.
 */
import { quoteUrl } from '../../domain/redact.js';
import { posix } from 'node:path';
import type { ConfigProblem, HostEntry, HostSettings, RuntimeVersion } from '../../domain/registry-config.js';
import { isTable, parseTomlSafe, type TomlTable } from '../../adapters/node-files/toml.js';
import { atLeast } from './rules.js';
import { defaultUpstream } from '../../domain/registry-plan.js';

export interface ParsedHosts {
  readonly hosts: HostEntry[];
  readonly ignoredBecause?: ConfigProblem;
}

class Invalid extends Error {}

function capabilitiesFor(v: RuntimeVersion): string[] {
  return atLeast(v, 2, 2) ? ['pull', 'resolve', 'push', 'referrers'] : ['pull', 'resolve', 'push'];
}

function strings(v: unknown, what: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw new Invalid(`${what} must be a string or a list of strings`);
}

function settings(t: TomlTable, where: string, version: RuntimeVersion): Partial<HostSettings> {
  const out: { -readonly [K in keyof HostSettings]?: HostSettings[K] } = {};
  if (t['capabilities'] !== undefined) {
    // []string in containerd's hostFileConfig: a bare string fails to decode.
    if (!Array.isArray(t['capabilities'])) throw new Invalid(`${where} capabilities must be a list of strings`);
    const caps = strings(t['capabilities'], `${where} capabilities`);
    const known = capabilitiesFor(version);
    const unknown = caps.find((c) => !known.includes(c));
    if (unknown !== undefined) {
      throw new Invalid(
        `${where} names unknown capability ${JSON.stringify(unknown)}` +
          (unknown === 'referrers' ? ' (known only from containerd 2.2)' : ` (known: ${known.join(', ')})`),
      );
    }
    out.capabilities = caps;
  }
  if (t['ca'] !== undefined) out.ca = strings(t['ca'], `${where} ca`);
  if (t['client'] !== undefined) {
    const c = t['client'];
    const ok =
      typeof c === 'string' ||
      (Array.isArray(c) && (c.every((x) => typeof x === 'string') || c.every((x) => Array.isArray(x) && x.length === 2 && x.every((y) => typeof y === 'string'))));
    if (!ok) throw new Invalid(`${where} client must be a path, a list of paths or a list of [cert, key] pairs`);
    out.client = true;
    out.clientPairs = typeof c === 'string' ? [[c]] : (c as unknown[]).map((x) => (typeof x === 'string' ? [x] : [(x as string[])[0]!, (x as string[])[1]!]));
  }
  if (t['skip_verify'] !== undefined) {
    if (typeof t['skip_verify'] !== 'boolean') throw new Invalid(`${where} skip_verify must be true or false`);
    out.skipVerify = t['skip_verify'];
  }
  if (t['override_path'] !== undefined) {
    if (typeof t['override_path'] !== 'boolean') throw new Invalid(`${where} override_path must be true or false`);
    out.overridePath = t['override_path'];
  }
  if (t['header'] !== undefined) {
    const h = t['header'];
    if (!isTable(h)) throw new Invalid(`${where} header must be a table`);
    for (const [name, value] of Object.entries(h)) strings(value, `${where} header ${name}`);
    out.headerNames = Object.keys(h); // values are dropped here: they may be tokens
  }
  if (t['dial_timeout'] !== undefined) {
    const d = t['dial_timeout'];
    if (typeof d !== 'string' || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(d)) throw new Invalid(`${where} dial_timeout must be a duration like "200ms"`);
    out.dialTimeout = d;
  }
  return out;
}

function complete(s: Partial<HostSettings>, caps: string[]): HostSettings {
  return {
    capabilities: s.capabilities ?? caps,
    skipVerify: s.skipVerify ?? false,
    ca: s.ca ?? [],
    client: s.client ?? false,
    ...(s.clientPairs && s.clientPairs.length > 0 ? { clientPairs: s.clientPairs } : {}),
    headerNames: s.headerNames ?? [],
    overridePath: s.overridePath ?? false,
    ...(s.dialTimeout !== undefined ? { dialTimeout: s.dialTimeout } : {}),
  };
}

/** URL handling of hosts.go: scheme defaulted to https, `/v2` appended unless present or override_path. */
export function splitHostUrl(raw: string, overridePath: boolean): { url: string; path: string } {
  const withScheme = raw.startsWith('http') ? raw : `https://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new Invalid(`host ${quoteUrl(raw)} is not a valid URL`);
  }
  let path = u.pathname === '/' || u.pathname === '' ? '' : posix.normalize(u.pathname).replace(/\/+$/, '');
  if (path === '') path = '/v2';
  else if (!overridePath && !path.endsWith('/v2')) path = `${path}/v2`;
  return { url: `${u.protocol}//${u.host}`, path };
}

export function parseHostsToml(text: string, file: string, registry: string, version: RuntimeVersion): ParsedHosts {
  const parsed = parseTomlSafe(text, file);
  if (!parsed.ok) return { hosts: [], ignoredBecause: parsed.problem };
  const doc = parsed.value;
  const caps = capabilitiesFor(version);
  try {
    const hosts: HostEntry[] = [];
    const hostTable = doc['host'];
    if (hostTable !== undefined && !isTable(hostTable)) throw new Invalid('host must be a table of [host."URL"] tables');
    if (hostTable === undefined && version.major === 1 && version.minor === 6) {
      // containerd 1.6 rejects a file without any [host] table: "invalid `host` tree" (containerd#10027).
      throw new Invalid('no [host."..."] table: containerd 1.6 rejects the whole file ("invalid host tree", containerd#10027)');
    }
    for (const [rawUrl, value] of Object.entries(hostTable ?? {})) {
      if (!isTable(value)) throw new Invalid(`host ${quoteUrl(rawUrl)} must be a table`);
      const s = complete(settings(value, `[host.${quoteUrl(rawUrl)}]`, version), caps);
      hosts.push({ ...s, ...splitHostUrl(rawUrl, s.overridePath), kind: 'host' });
    }
    const root = settings(doc, 'root', version);
    const server = doc['server'];
    if (server !== undefined && typeof server !== 'string') throw new Invalid('server must be a string');
    if (typeof server === 'string' && server.length > 0) {
      const s = complete(root, caps);
      hosts.push({ ...s, ...splitHostUrl(server, s.overridePath), kind: 'server' });
    } else {
      // Without `server`, the upstream gets the full default capability set whatever the root says.
      const s = complete({ ...root, capabilities: caps }, caps);
      hosts.push({ ...s, ...splitHostUrl(defaultUpstream(registry), false), kind: 'default' });
    }
    return { hosts };
  } catch (e) {
    if (e instanceof Invalid) return { hosts: [], ignoredBecause: { file, reason: e.message } };
    throw e;
  }
}

/**
 * Header values of a hosts.toml, one record per entry in the order parseHostsToml
 * returns them ([host] tables, then server/default). Only the registry client calls
 * this, to send the headers; the values stay in this process and are never stored
 * in a snapshot, a report or a log.
 */
export function readHostHeaderValues(text: string, file: string): Record<string, string>[] {
  const parsed = parseTomlSafe(text, file);
  if (!parsed.ok) return [];
  const doc = parsed.value;
  const pick = (t: unknown): Record<string, string> => {
    const h = isTable(t) ? t['header'] : undefined;
    if (!isTable(h)) return {};
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(h)) {
      const v = Array.isArray(value) ? value.filter((x) => typeof x === 'string').join(', ') : value;
      if (typeof v === 'string' && !/[\r\n]/.test(v) && /^[A-Za-z0-9-]+$/.test(name)) out[name.toLowerCase()] = v;
    }
    return out;
  };
  const hostTable = isTable(doc['host']) ? doc['host'] : {};
  return [...Object.values(hostTable).map(pick), pick(doc)];
}
