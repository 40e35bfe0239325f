/**
 * Reads the node's registry configuration through HostFiles: config.toml with its
 * imports, then every directory under the effective hosts roots (hosts.toml and
 * legacy certificate files), and notes certs.d directories nobody reads.
 */
import { posix } from 'node:path';
import type { HostsFile, RegistryConfigSnapshot, RuntimeVersion } from '../../domain/registry-config.js';
import { effectiveHostsConfig } from './rules.js';
import { loadContainerdConfig } from './config-toml.js';
import type { HostFiles } from '../../adapters/node-files/host-files.js';
import { parseHostsToml } from './hosts-toml.js';

const MAX_HOST_DIRS = 512;
const WELL_KNOWN_CERTS_DIRS = ['/etc/containerd/certs.d', '/etc/docker/certs.d'];

function registryForDir(dirName: string): string {
  const m = /^(.*)_(\d+)_$/.exec(dirName);
  return m ? `${m[1]}:${m[2]}` : dirName === '_default' ? 'registry.invalid' : dirName;
}

function readHostDir(files: HostFiles, root: string, dirName: string, v: RuntimeVersion): HostsFile {
  const dir = posix.join(root, dirName);
  const file = posix.join(dir, 'hosts.toml');
  const certFiles = (files.list(dir) ?? []).filter((n) => /\.(crt|cert|key)$/.test(n)).map((n) => posix.join(dir, n));
  const read = files.read(file);
  if (!read.ok) {
    const base = { file, dirName, root, hosts: [], certFiles };
    if (read.kind === 'missing') return base;
    // Over tagdrift's own size limit: containerd reads it, tagdrift cannot say how.
    if (read.kind === 'too-large') return { ...base, notRead: { file, reason: `${read.message}: not read (tagdrift's own limit)` } };
    return { ...base, ignoredBecause: { file, reason: `cannot read hosts.toml: ${read.message}` } };
  }
  if (read.text.trim() === '') return { file, dirName, root, hosts: [], certFiles };
  const parsed = parseHostsToml(read.text, file, registryForDir(dirName), v);
  return { file, dirName, root, hosts: parsed.hosts, certFiles, ...(parsed.ignoredBecause ? { ignoredBecause: parsed.ignoredBecause } : {}) };
}

/**
 * Directory names containerd can ever look up: a registry host (name or IP, with
 * `:port` or the `_port_` spelling, IPv6 in brackets) or `_default`. containerd
 * never lists the directory; it only tries these names, so anything else (`backup
 * copy`, `a%b`, spegel's `_backup`) is never read by it, and must not be by us.
 */
export function isHostDirName(name: string): boolean {
  if (name === '_default') return true;
  return /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5}|_\d{1,5}_)?$/.test(name);
}

/** spegel moves the previous files here and restores them on removal: a backup, not configuration. */
const SPEGEL_BACKUP_DIR = '_backup';

export function readRegistryConfig(files: HostFiles, opts: { hostRoot: string; configFile: string; version: RuntimeVersion }): RegistryConfigSnapshot {
  const config = loadContainerdConfig(files, opts.configFile, opts.version);
  const eff = effectiveHostsConfig(config, opts.version);
  const hostsFiles: HostsFile[] = [];
  const skippedDirs: { dir: string; reason: string }[] = [];
  for (const root of eff.roots) {
    const names = (files.list(root) ?? []).filter((n) => files.isDir(posix.join(root, n)));
    for (const name of names) {
      const dir = posix.join(root, name);
      if (name === SPEGEL_BACKUP_DIR) continue;
      if (!isHostDirName(name)) {
        skippedDirs.push({ dir, reason: `"${name}" is not a registry host name, so containerd never looks this directory up` });
        continue;
      }
      if (hostsFiles.length >= MAX_HOST_DIRS) {
        skippedDirs.push({ dir, reason: `tagdrift reads at most ${MAX_HOST_DIRS} host directories per scan; containerd itself has no such limit, so this one was not checked` });
        continue;
      }
      hostsFiles.push(readHostDir(files, root, name, opts.version));
    }
  }
  const unreadCertsDirs =
    eff.roots.length === 0 ? WELL_KNOWN_CERTS_DIRS.filter((d) => (files.list(d) ?? []).some((n) => files.isDir(posix.join(d, n)))) : [];
  return { hostRoot: opts.hostRoot, config, hostsFiles, unreadCertsDirs, ...(skippedDirs.length > 0 ? { skippedDirs } : {}) };
}
