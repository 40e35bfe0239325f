/**
 * The evidence each finding code carries: one shape per code, declared here and nowhere
 * else. Checks build these shapes; every consumer (the table, the page, Events, metrics,
 * the cluster merge) either narrows on the code and reads typed fields, or asks the
 * accessors below, which read only what the catalogue says a code carries.
 *
 * The JSON keys are the report's public contract (schema version 1): names only ever get added.
 */
import type { ImageBuildMeta } from './snapshot.js';
import type { RegistryErrorKind, TagSince } from './tag-truth.js';
import { FINDING_CODES } from './finding-codes.js';

/** The digests a finding can name, by the role of the image they identify. */
export type DigestRole = 'running' | 'cached' | 'node' | 'mirror' | 'registry';
export const DIGEST_ROLES: readonly DigestRole[] = ['running', 'cached', 'node', 'mirror', 'registry'];

/** What a registry said about the image for this node's platform, inside a multi-platform index. */
export interface PlatformEvidence {
  readonly platform?: string;
  readonly registryPlatformManifest?: string;
  readonly registryImageId?: string;
}

/** Present (and false) only when the platform image could not be compared. */
interface PlatformVerified {
  readonly platformVerified?: false;
}

export interface RunningStaleEvidence extends PlatformEvidence, PlatformVerified {
  readonly runningDigest: string | undefined;
  readonly registryDigest: string;
  readonly endpoint: string;
  readonly mirrorEndpoint?: string;
  readonly mirrorDigest?: string;
  /** The pods' pull policies, sorted and comma-joined. */
  readonly pullPolicy: string;
  readonly runningImageId: string | undefined;
  readonly platformUnverified?: string;
  readonly runningBuild?: ImageBuildMeta;
  readonly registryBuild?: ImageBuildMeta;
  /** Since when upstream answers its digest (a push notification, or the answers tagdrift saw). */
  readonly registrySince?: TagSince;
}

export interface MirrorStaleEvidence extends PlatformVerified {
  readonly mirrorDigest: string;
  readonly registryDigest: string;
  /** The mirror. */
  readonly endpoint: string;
  readonly upstreamEndpoint: string;
  readonly chainPosition?: number;
  readonly skippedBefore?: readonly string[];
  readonly configuredIn?: string;
  readonly platform?: string;
  readonly registryImageId?: string;
  readonly mirrorImageId?: string;
  readonly configVersionDependent?: true;
  readonly registryBuild?: ImageBuildMeta;
  readonly registrySince?: TagSince;
  /**
   * How long the mirror has been behind upstream, in seconds, at this scan: from when upstream
   * was seen to move (a notification, or a changed answer). When upstream's first answer
   * already differed, the time since that answer: the mirror is behind at least that long.
   */
  readonly lagSeconds?: number;
  readonly lagAtLeast?: true;
}

export interface CacheStaleEvidence extends PlatformEvidence, PlatformVerified {
  readonly cachedDigest: string;
  readonly registryDigest: string;
  readonly endpoint: string;
  readonly cachedImageId: string;
  readonly cachedBuild?: ImageBuildMeta;
  readonly registryBuild?: ImageBuildMeta;
  readonly registrySince?: TagSince;
}

export interface RunningSupersededEvidence extends PlatformEvidence {
  readonly runningDigest: string | undefined;
  readonly nodeDigest: string | undefined;
  readonly registryDigest?: string;
  readonly endpoint?: string;
  readonly runningImageId: string | undefined;
  readonly nodeImageId: string | undefined;
  readonly runningBuild?: ImageBuildMeta;
  readonly nodeBuild?: ImageBuildMeta;
}

export interface TagRepublishedEvidence extends PlatformEvidence {
  readonly runningDigest: string | undefined;
  readonly registryDigest: string;
  readonly endpoint: string;
  readonly runningImageId: string | undefined;
}

/** A tag a registry endpoint could not answer for. */
export interface RegistryCheckFailedEvidence {
  readonly endpoint: string;
  readonly role: 'mirror' | 'upstream';
  readonly reason: RegistryErrorKind;
  readonly detail: string;
  readonly resolvedThrough?: string;
}

/** Configuration tagdrift did not read (its own limits). */
export type ConfigUnreadEvidence =
  | { readonly reason: 'config-read-limit'; readonly files: readonly string[]; readonly count: number }
  | { readonly reason: 'read-cap'; readonly notRead: readonly string[]; readonly count: number }
  | { readonly reason: 'registries-conf-not-modelled'; readonly details: readonly string[] };

export interface DriftDigest {
  readonly nodes: readonly string[];
  readonly containers: number;
  readonly imageId?: string;
  readonly platform: string;
}

export interface DigestDriftEvidence {
  /** Each image the reference runs as, by repo digest (else image ID). */
  readonly digests: Readonly<Record<string, DriftDigest>>;
  readonly workloads: readonly string[];
  readonly platforms: readonly string[];
}

export interface MirrorSkippedEvidence {
  readonly endpoint: string;
  readonly tags: readonly string[];
  readonly reasons: readonly { readonly tag: string; readonly reason: RegistryErrorKind; readonly detail: string }[];
  readonly resolvedThrough?: readonly string[];
  readonly configuredIn?: string;
}

export interface MutableTagEvidence {
  readonly tag: string | undefined;
  readonly implicitTag: boolean;
  readonly pullPolicy: string;
  readonly runningDigest: string | undefined;
}

export interface ConfigProblemEvidence {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
  readonly reason: string;
}

export interface EvidenceByCode {
  'running-stale': RunningStaleEvidence;
  'mirror-stale': MirrorStaleEvidence;
  'cache-stale': CacheStaleEvidence;
  'check-failed': RegistryCheckFailedEvidence | ConfigUnreadEvidence;
  'digest-drift': DigestDriftEvidence;
  'running-superseded': RunningSupersededEvidence;
  'tag-republished': TagRepublishedEvidence;
  'mirror-skipped': MirrorSkippedEvidence;
  'mutable-tag': MutableTagEvidence;
  'runtime-unavailable': { readonly reason: string; readonly detail: string };
  'pod-intent-unavailable': { readonly reason: string };
  'node-name-mismatch': {
    readonly nodeName: string;
    readonly pods: readonly { readonly namespace: string; readonly name: string; readonly node?: string }[];
    readonly apiNodes?: readonly string[];
  };
  'pod-unread': { readonly pod: string; readonly reason: string | undefined };
  'mirror-resolves-tags': { readonly registry: string; readonly endpoint: string | undefined; readonly source: string | undefined; readonly capabilities: readonly string[] | undefined };
  'mirror-config-ignored': ConfigProblemEvidence;
  'config-error': ConfigProblemEvidence;
  'runtime-unsupported': { readonly runtime: string; readonly version: string };
  'config-not-found': { readonly lookedFor: readonly string[]; readonly hostRoot: string };
  'config-version-dependent': { readonly file: string; readonly reason: string; readonly rules: string };
  'legacy-mirror-config': { readonly file: string; readonly files: readonly string[]; readonly settings: readonly string[] };
}

/** The digest roles whose `<role>Digest` (and `<role>Build`) a code's evidence may carry. */
export type DigestRolesOf<E> = { [R in DigestRole]: `${R}Digest` extends keyof E ? R : never }[DigestRole];

/** True for a check-failed finding about a registry answer (not about configuration tagdrift did not read). */
export function isRegistryFailure(e: EvidenceByCode['check-failed']): e is RegistryCheckFailedEvidence {
  return 'endpoint' in e && typeof e.endpoint === 'string';
}

/** A finding as the accessors need it: its code, and evidence that may have come from another process. */
interface AnyFinding {
  readonly code: keyof EvidenceByCode;
  readonly evidence: object;
}

export interface NamedDigest {
  readonly role: DigestRole;
  /** The evidence key, as JSON output names it. */
  readonly key: `${DigestRole}Digest`;
  readonly digest: string;
}

export interface NamedBuild {
  readonly role: DigestRole;
  readonly build: ImageBuildMeta;
}

function catalogueDigests(code: keyof EvidenceByCode): readonly DigestRole[] {
  return (FINDING_CODES as Readonly<Record<string, { readonly digests?: readonly DigestRole[] }>>)[code]?.digests ?? [];
}

/**
 * The digests a finding names, in the catalogue's order. Checked field by field, so a report
 * read from another agent (the cluster view) cannot make a consumer print a non-string.
 */
export function digestsOf(f: AnyFinding): NamedDigest[] {
  const e = f.evidence as Partial<Record<`${DigestRole}Digest`, unknown>>;
  return catalogueDigests(f.code).flatMap((role) => {
    const d = e[`${role}Digest`];
    return typeof d === 'string' ? [{ role, key: `${role}Digest` as const, digest: d }] : [];
  });
}

/** The build metadata a finding names (version, revision, created), in the catalogue's order. */
export function buildsOf(f: AnyFinding): NamedBuild[] {
  const e = f.evidence as Partial<Record<`${DigestRole}Build`, unknown>>;
  return catalogueDigests(f.code).flatMap((role) => {
    const b = e[`${role}Build`];
    if (!b || typeof b !== 'object') return [];
    const build: Record<string, string> = {};
    for (const k of ['version', 'revision', 'created', 'source'] as const) {
      const v = (b as Record<string, unknown>)[k];
      if (typeof v === 'string') build[k] = v;
    }
    return [{ role, build }];
  });
}

/** True for the codes the catalogue marks stale (the tag now means a newer image than the one named). */
export function isStale(f: { readonly code: string }): boolean {
  return (FINDING_CODES as Readonly<Record<string, { readonly stale?: boolean }>>)[f.code]?.stale === true;
}

/** The Event reason the catalogue gives a code, if it is posted as an Event at all. */
export function eventReason(f: { readonly code: string }): string | undefined {
  return (FINDING_CODES as Readonly<Record<string, { readonly event?: string }>>)[f.code]?.event;
}

/** Since when upstream answers the digest a finding names, when tagdrift saw it move (checked field by field). */
export function movedAtOf(f: AnyFinding): { at: string; announced: boolean } | undefined {
  const s = (f.evidence as { registrySince?: unknown }).registrySince;
  if (!s || typeof s !== 'object') return undefined;
  const { at, via, moved } = s as Record<string, unknown>;
  if (moved !== true || typeof at !== 'string' || !Number.isFinite(Date.parse(at))) return undefined;
  return { at, announced: via === 'notification' };
}

/** How long a mirror-stale finding's mirror has been behind, in seconds, and whether that is a lower bound. */
export function mirrorLagOf(f: AnyFinding): { seconds: number; atLeast: boolean } | undefined {
  if (f.code !== 'mirror-stale') return undefined;
  const e = f.evidence as { lagSeconds?: unknown; lagAtLeast?: unknown };
  return typeof e.lagSeconds === 'number' && Number.isFinite(e.lagSeconds) && e.lagSeconds >= 0 ? { seconds: e.lagSeconds, atLeast: e.lagAtLeast === true } : undefined;
}
