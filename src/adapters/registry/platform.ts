/**
 * Which child of an index a node runs, chosen as containerd chooses it
 * (core/images/image.go `Manifest`): entries whose platform matches the node's,
 * in index order, first one wins; entries without a platform are kept; BuildKit's
 * attestation entries (`unknown/unknown`) never match a real platform.
 */
import type { ManifestDoc } from './manifest.js';

export interface NodePlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** The platform of this process, in OCI terms (`x64` → `amd64`; arm64 is `v8`). */
export function hostPlatform(arch: string = process.arch): NodePlatform {
  if (arch === 'x64') return { os: 'linux', architecture: 'amd64' };
  if (arch === 'arm64') return { os: 'linux', architecture: 'arm64', variant: 'v8' };
  if (arch === 'arm') return { os: 'linux', architecture: 'arm', variant: 'v7' };
  if (arch === 'ia32') return { os: 'linux', architecture: '386' };
  return { os: 'linux', architecture: arch };
}

export function platformString(p: NodePlatform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Variants a node accepts: its own, none, and the baseline spelling of its architecture. */
function variantMatches(node: NodePlatform, variant: string | undefined): boolean {
  if (!variant) return true;
  if (variant === node.variant) return true;
  if (node.architecture === 'arm64') return variant === 'v8';
  if (node.architecture === 'amd64') return variant === 'v1';
  return false;
}

/** The digest of the index entry a node of `node` platform pulls, or undefined when none matches. */
export function pickPlatformChild(doc: ManifestDoc, node: NodePlatform): string | undefined {
  for (const m of doc.manifests ?? []) {
    if (typeof m.digest !== 'string') continue;
    const p = m.platform;
    if (!p) return m.digest;
    if (p.os === node.os && p.architecture === node.architecture && variantMatches(node, p.variant)) return m.digest;
  }
  return undefined;
}
