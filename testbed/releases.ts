/**
 * The containerd releases the test bed runs for real: the system's 1.6.20 (Debian 12) and the
 * 1.7.24 (trixie) and 2.1.9 (sid) Debian packages unpacked under .tools/ by
 * scripts/containerd-releases.sh. Each runs with the config version it is really configured with
 * on nodes: version 2 for 1.x, version 3 (the split CRI plugins) for 2.x.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ReleaseName = '1.6' | '1.7' | '2.1';
export interface ContainerdRelease {
  readonly name: ReleaseName;
  /** The version the binary reports (and CRI `runtime_version` says). */
  readonly version: string;
  /** Directory holding containerd and containerd-shim-runc-v2 (put first on PATH: containerd finds its shim there). */
  readonly binDir: string;
  readonly configVersion: 2 | 3;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tools = (v: string) => join(ROOT, '.tools', `containerd-${v}`, 'usr', 'bin');

export const RELEASES: Record<ReleaseName, ContainerdRelease> = {
  '1.6': { name: '1.6', version: '1.6.20', binDir: '/usr/bin', configVersion: 2 },
  '1.7': { name: '1.7', version: '1.7.24', binDir: tools('1.7.24'), configVersion: 2 },
  '2.1': { name: '2.1', version: '2.1.9', binDir: tools('2.1.9'), configVersion: 3 },
};
export const RELEASE_NAMES = Object.keys(RELEASES) as ReleaseName[];

export function release(name: ReleaseName = '1.6'): ContainerdRelease {
  const r = RELEASES[name];
  if (!existsSync(join(r.binDir, 'containerd'))) {
    throw new Error(`test bed: containerd ${r.version} is not at ${r.binDir}; run scripts/containerd-releases.sh (npm test does)`);
  }
  return r;
}
