/**
 * The catalogue of finding codes: the public contract. Every check emits only
 * codes listed here; the README's finding sections, the metrics that are pre-set
 * to zero and the alerts' runbook links are all derived from this table, and a
 * test fails when they disagree.
 */

import type { DigestRole, DigestRolesOf, EvidenceByCode } from './evidence.js';

export type Severity = 'critical' | 'warning' | 'info';

export const SEVERITIES: readonly Severity[] = ['critical', 'warning', 'info'];

export interface FindingCodeInfo<R extends DigestRole = DigestRole> {
  /** The severity the code is usually reported with (a check may lower or raise it, as documented). */
  readonly severity: Severity;
  readonly title: string;
  /** Where the README explains it: `#<anchor>`. */
  readonly anchor: string;
  /**
   * A stale finding: the tag means a newer image than the one named (on the node, in its
   * cache or at its mirror). Counted in tagdrift_stale_tags and posted as an Event.
   */
  readonly stale: boolean;
  /** The reason of the Kubernetes Event posted on each pod the finding names (`--events`); none when absent. */
  readonly event?: string;
  /** The digests its evidence names (`<role>Digest`, with `<role>Build` when known), in the order they are shown. */
  readonly digests: readonly R[];
}

export const FINDING_CODES = {
  'running-stale': {
    severity: 'critical',
    title: 'A running container runs a digest its tag no longer points to upstream, and the node does not hold the new one',
    anchor: 'running-stale',
    stale: true,
    event: 'ImageStale',
    digests: ['running', 'mirror', 'registry'],
  },
  'mirror-stale': {
    severity: 'critical',
    title: 'The mirror this node resolves tags through answers an older digest than upstream',
    anchor: 'mirror-stale',
    stale: true,
    event: 'MirrorServesStaleImage',
    digests: ['mirror', 'registry'],
  },
  'cache-stale': {
    severity: 'warning',
    title: 'A tag cached on the node points to an older digest than upstream',
    anchor: 'cache-stale',
    stale: true,
    digests: ['cached', 'registry'],
  },
  'check-failed': {
    severity: 'info',
    title: 'A tag could not be verified at a registry endpoint (reported neither fresh nor stale)',
    anchor: 'check-failed',
    stale: false,
    digests: [],
  },
  'digest-drift': {
    severity: 'warning',
    title: 'One image reference runs with different digests on different nodes or pods of one workload (cluster view)',
    anchor: 'digest-drift',
    stale: false,
    digests: [],
  },
  'running-superseded': {
    severity: 'warning',
    title: 'A running container is older than what its tag points to on this node',
    anchor: 'running-superseded',
    stale: false,
    event: 'ImageSuperseded',
    digests: ['running', 'node', 'registry'],
  },
  'tag-republished': {
    severity: 'info',
    title: "A tag's index was re-published, but the image this node's platform runs from it is unchanged",
    anchor: 'tag-republished',
    stale: false,
    digests: ['running', 'registry'],
  },
  'mirror-skipped': {
    severity: 'info',
    title: 'containerd passes over a resolve-capable mirror (it lacks the repository, refuses, fails or is down) and resolves through a later host',
    anchor: 'mirror-skipped',
    stale: false,
    digests: [],
  },
  'mutable-tag': {
    severity: 'info',
    title: 'A running container was started from a mutable tag and is not pinned by digest',
    anchor: 'mutable-tag',
    stale: false,
    digests: ['running'],
  },
  'runtime-unavailable': {
    severity: 'critical',
    title: 'The container runtime cannot be reached over CRI v1',
    anchor: 'runtime-unavailable',
    stale: false,
    digests: [],
  },
  'pod-intent-unavailable': {
    severity: 'info',
    title: 'Pods could not be read from the Kubernetes API; the scan used runtime evidence only',
    anchor: 'pod-intent-unavailable',
    stale: false,
    digests: [],
  },
  'node-name-mismatch': {
    severity: 'critical',
    title: 'The Kubernetes API lists no pod for this node name while the runtime runs pods: nothing the pods asked for was checked',
    anchor: 'node-name-mismatch',
    stale: false,
    digests: [],
  },
  'pod-unread': {
    severity: 'warning',
    title: 'A pod of this node could not be read from the Kubernetes API; its containers were judged from runtime evidence only',
    anchor: 'pod-unread',
    stale: false,
    digests: [],
  },
  'mirror-resolves-tags': {
    severity: 'info',
    title: 'Tags for a registry are resolved by a mirror, which can answer an old digest',
    anchor: 'mirror-resolves-tags',
    stale: false,
    digests: [],
  },
  'mirror-config-ignored': {
    severity: 'warning',
    title: 'Mirror configuration exists but containerd does not use it',
    anchor: 'mirror-config-ignored',
    stale: false,
    digests: [],
  },
  'config-error': {
    severity: 'critical',
    title: 'containerd or its CRI plugin will not load this configuration',
    anchor: 'config-error',
    stale: false,
    digests: [],
  },
  'runtime-unsupported': {
    severity: 'warning',
    title: 'The container runtime is neither containerd nor CRI-O: how this node resolves tags is not analysed',
    anchor: 'runtime-unsupported',
    stale: false,
    digests: [],
  },
  'config-not-found': {
    severity: 'warning',
    title: "No containerd configuration was found under --host-root at any known location, so this node's mirrors are unknown",
    anchor: 'config-not-found',
    stale: false,
    digests: [],
  },
  'config-version-dependent': {
    severity: 'warning',
    title: 'Whether containerd loads a config file depends on its release, which this scan could not pin down',
    anchor: 'config-version-dependent',
    stale: false,
    digests: [],
  },
  'legacy-mirror-config': {
    severity: 'info',
    title: 'Deprecated registry.mirrors / registry.configs settings are in use',
    anchor: 'legacy-mirror-config',
    stale: false,
    digests: [],
  },
} as const satisfies { readonly [C in keyof EvidenceByCode]: FindingCodeInfo<DigestRolesOf<EvidenceByCode[C]>> };

export type FindingCode = keyof typeof FINDING_CODES;

export const ALL_FINDING_CODES = Object.keys(FINDING_CODES) as FindingCode[];

export function severityRank(s: Severity): number {
  return s === 'critical' ? 3 : s === 'warning' ? 2 : 1;
}

/** True when any finding is at or above `failOn` (the `--fail-on` gate; `none` never fails). */
export function reachesSeverity(findings: readonly { readonly severity: Severity; readonly silenced?: unknown }[], failOn: Severity | 'none'): boolean {
  if (failOn === 'none') return false;
  const threshold = severityRank(failOn);
  return findings.some((f) => !f.silenced && severityRank(f.severity) >= threshold);
}
