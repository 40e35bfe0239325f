/**
 * containerd config.toml: versions 1–4, `imports` (globs, relative paths, cycles,
 * missing files, a size cap), the per-version merge rule, and the CRI registry
 * table wherever this runtime version reads it. Output is redacted data
 * (ContainerdConfigView); problems carry file and line, never content.
 */
import { dirname, posix } from 'node:path';
import type { ConfigProblem, ContainerdConfigView, CriRegistrySection, NodeCredentialKind, NodeCredentialSource, RuntimeVersion } from '../../domain/registry-config.js';
import type { HostFiles } from '../../adapters/node-files/host-files.js';
import { relativeGlobBase } from './rules.js';
import { isTable, parseTomlSafe, type TomlTable } from '../../adapters/node-files/toml.js';
import { withoutUserinfo } from '../../domain/redact.js';

export const GRPC_CRI = 'io.containerd.grpc.v1.cri';
export const IMAGES_CRI = 'io.containerd.cri.v1.images';
const MAX_IMPORTED_FILES = 64;
/** Bytes of config (root file and imports) read per scan: tagdrift's own limit, sized for its heap. */
export const MAX_CONFIG_TOTAL_BYTES = 2 * 1024 * 1024;

interface LoadedFile {
  file: string;
  doc: TomlTable;
  version: number;
}

function versionOf(doc: TomlTable): number {
  return typeof doc['version'] === 'number' ? doc['version'] : 1;
}

/** Go filepath.Glob over HostFiles: `*`, `?` and `[…]` in any path component, lexical order. */
export function globPaths(files: HostFiles, pattern: string): string[] {
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let current = [pattern.startsWith('/') ? '/' : '.'];
  for (const part of parts.slice(pattern.startsWith('/') ? 1 : 0)) {
    if (!/[*?[]/.test(part)) {
      current = current.map((c) => posix.join(c, part));
      continue;
    }
    const re = new RegExp(`^${part.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    current = current.flatMap((c) => (files.list(c) ?? []).filter((n) => re.test(n)).map((n) => posix.join(c, n)));
  }
  return current.filter((p) => files.read(p).ok).sort();
}

function deepMerge(into: TomlTable, from: TomlTable): TomlTable {
  const out: TomlTable = { ...into };
  for (const [k, v] of Object.entries(from)) {
    const cur = out[k];
    out[k] = isTable(cur) && isTable(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

/** Loads the root file and its imports breadth-first, each file once, with the import rules of `version`. */
function loadFiles(files: HostFiles, rootFile: string, errors: ConfigProblem[], version: RuntimeVersion, ignored: ConfigProblem[], conditional: ConfigProblem[], notRead: ConfigProblem[]): LoadedFile[] {
  const loaded: LoadedFile[] = [];
  let bytes = 0;
  const seen = new Set<string>();
  const queue: string[] = [rootFile];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (loaded.length >= MAX_IMPORTED_FILES) {
      notRead.push({ file, reason: `more than ${MAX_IMPORTED_FILES} config files imported: this one and the rest were not read (tagdrift's own limit; containerd has none)` });
      break;
    }
    const read = files.read(file);
    if (!read.ok) {
      if (read.kind === 'too-large') notRead.push({ file, reason: `${read.message}: not read (tagdrift's own limit)` });
      else if (file !== rootFile) errors.push({ file, reason: `imported file ${read.message}: containerd will not start` });
      continue;
    }
    bytes += read.text.length;
    if (bytes > MAX_CONFIG_TOTAL_BYTES) {
      notRead.push({ file, reason: `config files add up to more than ${MAX_CONFIG_TOTAL_BYTES} bytes: this one and the rest were not read (tagdrift's own limit)` });
      break;
    }
    const parsed = parseTomlSafe(read.text, file);
    if (!parsed.ok && parsed.limit) {
      notRead.push(parsed.problem);
      continue;
    }
    if (!parsed.ok) {
      errors.push({ ...parsed.problem, reason: `${parsed.problem.reason}: containerd will not start` });
      continue;
    }
    loaded.push({ file, doc: parsed.value, version: versionOf(parsed.value) });
    const imports = parsed.value['imports'];
    if (imports === undefined) continue;
    if (!Array.isArray(imports) || !imports.every((i) => typeof i === 'string')) {
      errors.push({ file, reason: 'imports must be a list of paths' });
      continue;
    }
    for (const imp of imports as string[]) {
      const path = imp.startsWith('/') ? imp : posix.join(dirname(file), imp);
      // containerd globs only entries containing `*` (Go's filepath.Glob; `?` alone is a literal name).
      if (!imp.includes('*')) {
        queue.push(path);
        continue;
      }
      const matches = globPaths(files, path);
      if (imp.startsWith('/')) {
        queue.push(...matches);
        continue;
      }
      const base = relativeGlobBase(version);
      if (base === 'config-dir') queue.push(...matches);
      else if (base === 'working-dir') {
        // Expanded against the daemon's working directory, `/` under systemd.
        queue.push(...globPaths(files, posix.join('/', imp)));
        if (matches.length > 0) {
          ignored.push({
            file,
            reason:
              `imports entry "${imp}" is a relative glob: containerd ${version.major}.${version.minor}.${version.patch} expands it against its working directory (/ under systemd), ` +
              `not ${dirname(file)}, so ${matches.join(', ')} ${matches.length === 1 ? 'is' : 'are'} not loaded (fixed in 1.6.29, 1.7.16 and 2.0; containerd#9746)`,
          });
        }
      } else {
        queue.push(...matches);
        for (const m of matches) {
          conditional.push({
            file: m,
            reason:
              `loaded through the relative glob "${imp}" in ${file}: containerd 1.6.29+, 1.7.16+ and 2.x load it; older 1.6/1.7 releases expand the glob against their working directory and do not. ` +
              `The runtime version is not known here (${version.raw}), so findings built on this file are not reported as critical`,
          });
        }
      }
    }
  }
  return loaded;
}


const CREDENTIAL_KEYS: readonly NodeCredentialKind[] = ['username', 'password', 'auth', 'identitytoken'];

/** The host containerd files an `auths."<key>"` entry under: the URL's host when it has a scheme, else the key as written. */
function legacyAuthsHost(key: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(key)) return key;
  try {
    return new URL(key).host;
  } catch {
    return undefined;
  }
}

/** The registry table of plugin `id` in one file, if it has one. */
export function registryTableOf(doc: TomlTable, id: string): TomlTable | undefined {
  const plugins = doc['plugins'];
  if (!isTable(plugins)) return undefined;
  const p = plugins[id];
  return isTable(p) && isTable(p['registry']) ? p['registry'] : undefined;
}

/**
 * Per endpoint host, the static credential the merged registry table holds (`configs."<host>".auth`,
 * overridden by legacy `auths."<url>"` as containerd converts it): its kinds and the files that
 * set it. `wholesale` is containerd 1.x's import rule (the last file with the plugin table wins).
 */
function credentialSources(r: TomlTable, id: string, loaded: readonly LoadedFile[], wholesale: boolean): Record<string, NodeCredentialSource> {
  const kindsOf = (t: unknown): NodeCredentialKind[] => (isTable(t) ? CREDENTIAL_KEYS.filter((k) => typeof t[k] === 'string' && t[k] !== '') : []);
  const withPlugin = loaded.filter((f) => isTable(f.doc['plugins']) && isTable((f.doc['plugins'] as TomlTable)[id]));
  const counted = wholesale ? withPlugin.slice(-1) : withPlugin;
  const filesSetting = (pick: (reg: TomlTable) => unknown) =>
    counted.filter((f) => {
      const reg = registryTableOf(f.doc, id);
      return reg !== undefined && kindsOf(pick(reg)).length > 0;
    }).map((f) => f.file);
  const out: Record<string, NodeCredentialSource> = {};
  const configs = isTable(r['configs']) ? r['configs'] : {};
  for (const [host, c] of Object.entries(configs)) {
    const kinds = kindsOf(isTable(c) ? c['auth'] : undefined);
    if (kinds.length === 0) continue;
    const files = filesSetting((reg) => (isTable(reg['configs']) && isTable(reg['configs'][host]) ? (reg['configs'][host] as TomlTable)['auth'] : undefined));
    out[host] = { files, plugin: id, kinds };
  }
  const auths = isTable(r['auths']) ? r['auths'] : {};
  for (const [key, a] of Object.entries(auths)) {
    const host = legacyAuthsHost(key);
    const kinds = kindsOf(a);
    if (host === undefined || kinds.length === 0) continue;
    const files = filesSetting((reg) => (isTable(reg['auths']) ? reg['auths'][key] : undefined));
    out[host] = { files, plugin: id, kinds, legacyAuths: key };
  }
  return out;
}

function registrySection(plugin: unknown, location: string, loaded: readonly LoadedFile[] = [], wholesale = false): CriRegistrySection | undefined {
  if (!isTable(plugin) || !isTable(plugin['registry'])) return undefined;
  const r = plugin['registry'];
  const mirrors: Record<string, string[]> = {};
  if (isTable(r['mirrors'])) {
    for (const [host, m] of Object.entries(r['mirrors'])) {
      const ep = isTable(m) ? m['endpoint'] : undefined;
      // A password in an endpoint URL (`http://user:pass@mirror`) is dropped here, like every credential.
      mirrors[host] = Array.isArray(ep) ? ep.filter((e): e is string => typeof e === 'string').map(withoutUserinfo) : [];
    }
  }
  const configs = isTable(r['configs']) ? r['configs'] : {};
  const entries = Object.entries(configs).filter(([, c]) => isTable(c)) as [string, TomlTable][];
  const hasValue = (t: unknown) => isTable(t) && Object.values(t).some((v) => v !== '' && v !== false && v !== undefined);
  const configPath = typeof r['config_path'] === 'string' && r['config_path'] !== '' ? r['config_path'] : undefined;
  const auth = credentialSources(r, location, loaded, wholesale);
  return {
    ...(configPath !== undefined ? { configPath } : {}),
    mirrors,
    configsWithAuth: entries.filter(([, c]) => hasValue(c['auth'])).map(([h]) => h),
    ...(Object.keys(auth).length > 0 ? { auth } : {}),
    configsWithTls: entries.filter(([, c]) => hasValue(c['tls'])).map(([h]) => h),
    authsCount: isTable(r['auths']) ? Object.keys(r['auths']).length : 0,
    headerNames: isTable(r['headers']) ? Object.keys(r['headers']) : [],
    location: `plugins."${location}".registry`,
    files: loaded.filter((f) => isTable(f.doc['plugins']) && isTable((f.doc['plugins'] as TomlTable)[location]) && isTable(((f.doc['plugins'] as TomlTable)[location] as TomlTable)['registry'])).map((f) => f.file),
  };
}

function isEmptySection(s: CriRegistrySection | undefined): boolean {
  return !s || (s.configPath === undefined && Object.keys(s.mirrors).length === 0 && s.configsWithAuth.length === 0 &&
    s.configsWithTls.length === 0 && s.authsCount === 0 && s.headerNames.length === 0);
}

/** Settings that make CRI on 2.1+ pull with the local client instead of the transfer service. */
function localPullTriggers(plugins: TomlTable, reg: CriRegistrySection | undefined): string[] {
  const out: string[] = [];
  for (const id of [GRPC_CRI, IMAGES_CRI]) {
    const p = plugins[id];
    if (!isTable(p)) continue;
    const c = isTable(p['containerd']) ? p['containerd'] : {};
    const get = (k: string) => p[k] ?? c[k];
    if (get('use_local_image_pull') === true) out.push('use_local_image_pull = true');
    if (get('discard_unpacked_layers') === true) out.push('discard_unpacked_layers = true');
    if (get('disable_snapshot_annotations') === false) out.push('disable_snapshot_annotations = false');
    if (get('image_pull_with_sync_fs') === true) out.push('image_pull_with_sync_fs = true');
    const mcd = get('max_concurrent_downloads');
    if (typeof mcd === 'number' && mcd !== 3) out.push(`max_concurrent_downloads = ${mcd}`);
  }
  if (reg && Object.keys(reg.mirrors).length > 0) out.push('registry.mirrors');
  if (reg && (reg.configsWithAuth.length > 0 || reg.configsWithTls.length > 0)) out.push('registry.configs');
  if (reg && reg.authsCount > 0) out.push('registry.auths');
  return [...new Set(out)];
}

/** The root file's `version` (absent or unreadable = 1), without following imports. */
export function readConfigVersion(files: HostFiles, rootFile: string): number {
  const read = files.read(rootFile);
  if (!read.ok) return 1;
  const parsed = parseTomlSafe(read.text, rootFile);
  return parsed.ok ? versionOf(parsed.value) : 1;
}

/** Reads config.toml (+ imports) as a containerd of `version` would. */
export function loadContainerdConfig(files: HostFiles, rootFile: string, version: RuntimeVersion): ContainerdConfigView {
  const errors: ConfigProblem[] = [];
  const ignored: ConfigProblem[] = [];
  const rootRead = files.read(rootFile);
  if (!rootRead.ok && rootRead.kind === 'missing') {
    return { file: rootFile, files: [], version: version.major >= 2 ? 3 : 1, localPullTriggers: [], errors, ignored, missing: true };
  }
  if (!rootRead.ok && rootRead.kind !== 'too-large') errors.push({ file: rootFile, reason: `cannot read: ${rootRead.message}` });
  const conditional: ConfigProblem[] = [];
  const notRead: ConfigProblem[] = [];
  const loaded = loadFiles(files, rootFile, errors, version, ignored, conditional, notRead);
  const root = loaded[0]?.file === rootFile ? loaded[0] : undefined;
  const configVersion = root?.version ?? 1;
  const v1x = version.major < 2;

  if (v1x && configVersion > 2) errors.push({ file: rootFile, reason: `config version ${configVersion} needs containerd 2.x; ${version.raw} refuses to start` });
  if (!v1x && version.minor >= 3 && version.major === 2) {
    for (const f of loaded.slice(1)) {
      if (f.version > configVersion) errors.push({ file: f.file, reason: `drop-in version ${f.version} is higher than the root's ${configVersion}: containerd will not start` });
    }
  }

  // Merge: 1.x replaces each plugins."<id>" table wholesale per file; 2.x deep-merges.
  let merged: TomlTable = {};
  for (const f of loaded) {
    if (v1x) {
      const plugins = { ...(isTable(merged['plugins']) ? merged['plugins'] : {}), ...(isTable(f.doc['plugins']) ? f.doc['plugins'] : {}) };
      merged = { ...merged, ...f.doc, plugins };
      if (f !== root && isTable(f.doc['plugins'])) {
        for (const id of Object.keys(f.doc['plugins'])) {
          if (root && isTable(root.doc['plugins']) && id in root.doc['plugins']) {
            ignored.push({ file: root.file, reason: `plugins."${id}" is replaced wholesale by the drop-in ${f.file} (containerd 1.x import rule)` });
          }
        }
      }
    } else {
      merged = deepMerge(merged, f.doc);
    }
  }
  const plugins = isTable(merged['plugins']) ? merged['plugins'] : {};

  let registry: CriRegistrySection | undefined;
  if (v1x) {
    if (configVersion <= 1) {
      registry = registrySection(plugins['cri'], 'cri', loaded, true);
      if (registrySection(plugins[GRPC_CRI], GRPC_CRI)) {
        ignored.push({ file: rootFile, reason: `plugins."${GRPC_CRI}" in a file without version = 2 is ignored by containerd 1.x (containerd#5236)` });
      }
    } else if (configVersion === 2) {
      const badKey = Object.keys(plugins).find((k) => !k.startsWith('io.containerd.') || k.split('.').length < 4);
      if (badKey) errors.push({ file: rootFile, reason: `plugin key "${badKey}" in a version 2 config: containerd 1.x refuses to start (expects io.containerd.x.vx)` });
      registry = registrySection(plugins[GRPC_CRI], GRPC_CRI, loaded, true);
    }
  } else {
    const legacyId = configVersion <= 1 ? 'cri' : GRPC_CRI;
    const legacy = registrySection(plugins[legacyId], legacyId, loaded);
    const images = registrySection(plugins[IMAGES_CRI], IMAGES_CRI, loaded);
    if (configVersion >= 3) {
      registry = images;
      if (!isEmptySection(legacy)) ignored.push({ file: rootFile, reason: `plugins."${GRPC_CRI}".registry is not read in a version ${configVersion} config (use plugins."${IMAGES_CRI}".registry)` });
    } else {
      // 2.x migrates a v1/v2 CRI registry table to the images plugin; AKS writes v3 IDs into version 2 files.
      registry = isEmptySection(legacy) ? (images ?? legacy) : legacy;
    }
  }
  return {
    file: rootFile,
    files: loaded.map((f) => f.file),
    version: configVersion,
    ...(registry ? { registry } : {}),
    localPullTriggers: localPullTriggers(plugins, registry),
    errors,
    ignored,
    ...(conditional.length > 0 ? { versionDependent: conditional } : {}),
    ...(notRead.length > 0 ? { notRead } : {}),
    missing: false,
  };
}
