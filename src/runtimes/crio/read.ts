/**
 * CRI-O's registry configuration (containers-registries.conf(5), V2 format): the root
 * `/etc/containers/registries.conf` and the drop-ins of `registries.conf.d/*.conf` in
 * alphanumeric order — later files override top-level keys, and a `[[registry]]` with the
 * same prefix replaces the earlier one. Parsed without echoing content (as containerd's
 * files are); problems carry file and reason only.
 */
import { posix } from 'node:path';
import type { ConfigProblem } from '../../domain/registry-config.js';
import type { CrioMirror, CrioRegistriesRead, CrioRegistry } from './plan.js';
import type { HostFiles } from '../../adapters/node-files/host-files.js';
import { isTable, parseTomlSafe, type TomlTable } from '../../adapters/node-files/toml.js';

export const REGISTRIES_CONF = '/etc/containers/registries.conf';
export const REGISTRIES_CONF_D = '/etc/containers/registries.conf.d';
const MAX_DROP_INS = 64;

function mirrorsOf(raw: unknown, file: string, problems: ConfigProblem[]): CrioMirror[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push({ file, reason: 'registry.mirror must be an array of tables ([[registry.mirror]])' });
    return [];
  }
  return raw.filter(isTable).flatMap((m): CrioMirror[] => {
    if (typeof m['location'] !== 'string' || m['location'] === '') {
      problems.push({ file, reason: 'a [[registry.mirror]] has no location' });
      return [];
    }
    const pull = m['pull-from-mirror'];
    return [{
      location: m['location'],
      insecure: m['insecure'] === true,
      pullFromMirror: pull === 'digest-only' || pull === 'tag-only' ? pull : 'all',
    }];
  });
}

function registriesOf(doc: TomlTable, file: string, problems: ConfigProblem[]): CrioRegistry[] {
  const raw = doc['registry'];
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    problems.push({ file, reason: 'registry must be an array of tables ([[registry]]): the V1 format has no mirrors' });
    return [];
  }
  return raw.filter(isTable).flatMap((r): CrioRegistry[] => {
    const location = typeof r['location'] === 'string' ? r['location'] : undefined;
    const prefix = typeof r['prefix'] === 'string' && r['prefix'] !== '' ? r['prefix'] : location;
    if (!prefix) {
      problems.push({ file, reason: 'a [[registry]] has neither prefix nor location' });
      return [];
    }
    return [{
      prefix,
      location: location ?? prefix,
      insecure: r['insecure'] === true,
      blocked: r['blocked'] === true,
      mirrorByDigestOnly: r['mirror-by-digest-only'] === true,
      mirrors: mirrorsOf(r['mirror'], file, problems),
      file,
    }];
  });
}

/** Reads registries.conf and its drop-ins through the node's files. */
export function readCrioRegistries(files: HostFiles, runtimeVersion: string): CrioRegistriesRead {
  const problems: ConfigProblem[] = [];
  const dropIns = (files.list(REGISTRIES_CONF_D) ?? []).filter((n) => n.endsWith('.conf')).sort().map((n) => posix.join(REGISTRIES_CONF_D, n));
  if (dropIns.length > MAX_DROP_INS) problems.push({ file: REGISTRIES_CONF_D, reason: `more than ${MAX_DROP_INS} drop-ins: the rest were not read (tagdrift's own limit)` });
  const read: string[] = [];
  const byPrefix = new Map<string, CrioRegistry>();
  for (const file of [REGISTRIES_CONF, ...dropIns.slice(0, MAX_DROP_INS)]) {
    const r = files.read(file);
    if (!r.ok) {
      if (r.kind !== 'missing') problems.push({ file, reason: `cannot read: ${r.message}` });
      continue;
    }
    const parsed = parseTomlSafe(r.text, file);
    if (!parsed.ok) {
      problems.push(parsed.problem);
      continue;
    }
    read.push(file);
    for (const reg of registriesOf(parsed.value, file, problems)) byPrefix.set(reg.prefix, reg);
  }
  return { runtimeVersion, files: read, registries: [...byPrefix.values()], problems };
}
