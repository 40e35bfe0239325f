/** containerd versions and the rule sets that depend on them. */
import type { RuntimeVersion } from '../../domain/registry-config.js';

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

export function describeVersion(v: RuntimeVersion): string {
  return v.source === 'inferred' ? v.raw : `${v.major}.${v.minor}.${v.patch}`;
}
