/**
 * containerd's rules that depend on its version, as pure functions: version parsing,
 * the default upstream of a registry, the effective hosts.toml roots. Shared by the
 * adapters that read the node's files and by the analysis that plans from them.
 */
import type { ConfigProblem, ContainerdConfigView, RuntimeVersion } from '../../domain/registry-config.js';

/** `v1.6.20~ds1`, `1.7.12-0ubuntu1`, `v2.1.3` → numbers; undefined when unparseable. */
export function parseRuntimeVersion(raw: string, source: RuntimeVersion['source']): RuntimeVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(raw.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), raw, source };
}

export function atLeast(v: RuntimeVersion, major: number, minor: number, patch = 0): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

/** Without a runtime or a flag: config version 3/4 files need containerd 2.x; older ones are read as 1.7 would. */
export function inferRuntimeVersion(configVersion: number): RuntimeVersion {
  return configVersion >= 3
    ? { major: 2, minor: 0, patch: 0, raw: '2.0 (inferred from config version 3)', source: 'inferred' }
    : { major: 1, minor: 7, patch: 0, raw: `1.7 (inferred from config version ${configVersion})`, source: 'inferred' };
}

/**
 * Where a relative `imports` entry with `*` is expanded. containerd before 1.6.29,
 * 1.7.16 and 2.0.0 ran Go's Glob on the entry as written, i.e. against the daemon's
 * working directory (`/` under systemd), so `conf.d/*.toml` next to config.toml
 * loads nothing; the fix (containerd#9746, backports #9835 and #9834, first tagged
 * in v1.6.29, v1.7.16 and v2.0.0) joins it with the config file's directory first.
 * A relative entry without `*` was always joined with that directory.
 * `unknown` when the version was inferred rather than known.
 */
export function relativeGlobBase(v: RuntimeVersion): 'config-dir' | 'working-dir' | 'unknown' {
  if (v.source === 'inferred') return 'unknown';
  if (v.major >= 2) return 'config-dir';
  if (v.major === 1 && v.minor === 7) return v.patch >= 16 ? 'config-dir' : 'working-dir';
  if (v.major === 1 && v.minor === 6) return v.patch >= 29 ? 'config-dir' : 'working-dir';
  return v.major === 1 && v.minor > 7 ? 'config-dir' : 'working-dir';
}

export function describeVersion(v: RuntimeVersion): string {
  return v.source === 'inferred' ? v.raw : `${v.major}.${v.minor}.${v.patch}`;
}

/** containerd's default upstream for a registry host (hosts.go defaultHost / docker.DefaultHost). */


export const DEFAULT_CONFIG_PATH_22 = '/etc/containerd/certs.d:/etc/docker/certs.d';
export interface EffectiveHostsConfig {
  /** Roots containerd reads hosts.toml from, in order; empty = legacy/default resolution. */
  readonly roots: readonly string[];
  readonly source: 'explicit' | 'default (containerd >= 2.2)' | 'unset';
  /** 2.1+ transfer service with a multi-directory path: hosts.toml is not read at all. */
  readonly ignoredMultiDir: boolean;
  /** Problems that stop the CRI plugin from loading. */
  readonly errors: readonly ConfigProblem[];
}

export function effectiveHostsConfig(view: ContainerdConfigView, v: RuntimeVersion): EffectiveHostsConfig {
  const reg = view.registry;
  const hasMirrors = reg !== undefined && Object.keys(reg.mirrors).length > 0;
  const errors: ConfigProblem[] = [];
  let raw = reg?.configPath;
  let source: EffectiveHostsConfig['source'] = raw ? 'explicit' : 'unset';
  if (!raw && atLeast(v, 2, 2)) {
    // 2.2.0–2.2.1 applied the default even with mirrors set (containerd#12612); 2.2.2+ only without mirrors.
    const regressed = v.major === 2 && v.minor === 2 && v.patch < 2;
    if (!hasMirrors || regressed) {
      raw = DEFAULT_CONFIG_PATH_22;
      source = 'default (containerd >= 2.2)';
    }
  }
  if (raw && hasMirrors) {
    errors.push({
      file: view.file,
      reason:
        `registry.mirrors is set together with config_path (${source}): the CRI plugin fails to load ` +
        '("`mirrors` cannot be set when `config_path` is provided") and kubelet cannot reach the runtime',
    });
  }
  if (raw && v.major < 2 && reg && reg.configsWithTls.length > 0) {
    errors.push({ file: view.file, reason: 'registry.configs.*.tls is set together with config_path: containerd 1.x fails to load the CRI plugin' });
  }
  const roots = raw ? raw.split(':').filter(Boolean) : [];
  const transfer = atLeast(v, 2, 1) && view.localPullTriggers.length === 0;
  return { roots, source, ignoredMultiDir: transfer && roots.length > 1, errors };
}
