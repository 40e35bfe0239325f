/**
 * The node's own registry credential for one host, read from the config.toml files the plan
 * names (`registry.configs."<host>".auth`, or legacy `auths."<url>"`), and turned into what
 * containerd's CRI plugin would send (its `ParseAuth`): a username wins (with its password), else
 * an identity token, else `auth` decoded as base64 `user:password`. Values stay in this process;
 * what is reported is the file and the key, never a value.
 */
import type { HostFiles } from '../node-files/host-files.js';
import { isTable, parseTomlSafe, type TomlTable } from '../node-files/toml.js';
import { registryTableOf } from '../../runtimes/containerd/config-toml.js';
import type { NodeCredentialSource } from '../../domain/registry-config.js';
import type { Credential } from './auth.js';
import type { NodeCredential } from './client.js';

function credentialSourceText(src: NodeCredentialSource & { readonly host: string }): string {
  const file = src.files[src.files.length - 1] ?? 'config.toml';
  const key = src.legacyAuths !== undefined ? `auths."${src.legacyAuths}"` : `configs."${src.host}".auth`;
  return `${file} (plugins."${src.plugin}".registry.${key})`;
}

export function readNodeCredential(files: HostFiles, src: NodeCredentialSource & { readonly host: string }): NodeCredential {
  const source = credentialSourceText(src);
  const merged: Record<string, string> = {};
  for (const file of src.files) {
    const read = files.read(file);
    if (!read.ok) return { source, unusable: `the file could not be read again (${read.kind})` };
    const parsed = parseTomlSafe(read.text, file);
    if (!parsed.ok) return { source, unusable: 'the file could not be parsed again' };
    const reg = registryTableOf(parsed.value, src.plugin);
    const table: unknown = !reg
      ? undefined
      : src.legacyAuths !== undefined
        ? (isTable(reg['auths']) ? reg['auths'][src.legacyAuths] : undefined)
        : isTable(reg['configs']) && isTable(reg['configs'][src.host]) ? (reg['configs'][src.host] as TomlTable)['auth'] : undefined;
    if (!isTable(table)) continue;
    for (const k of ['username', 'password', 'auth', 'identitytoken']) {
      const v = table[k];
      if (typeof v === 'string' && v !== '') merged[k] = v;
    }
  }
  const value = toCredential(merged);
  return typeof value === 'string' ? { source, unusable: value } : { source, value };
}

/** containerd's ParseAuth order; a string says why tagdrift cannot use what is there. */
function toCredential(a: Record<string, string>): Credential | string {
  const clean = (v: string) => !/[\r\n\0]/.test(v);
  if (a['username'] !== undefined) {
    if (!a['password']) return 'a username without a password';
    if (a['username'].includes(':') || !clean(a['username']) || !clean(a['password'])) return 'a username or password with characters basic auth cannot carry';
    return { username: a['username'], password: a['password'] };
  }
  if (a['identitytoken'] !== undefined) return 'an identitytoken (an OAuth2 refresh token)';
  if (a['auth'] !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(a['auth'])) return 'an auth value that is not base64';
    const decoded = Buffer.from(a['auth'], 'base64').toString('utf8').replace(/\0+$/, '');
    const i = decoded.indexOf(':');
    if (i <= 0 || !clean(decoded)) return 'an auth value that is not base64 user:password';
    return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }
  return 'no username, password, auth or identitytoken';
}
