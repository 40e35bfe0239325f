/**
 * Registry truth: what a tag points to *now*, as answered by one endpoint (the
 * registry's upstream, or the mirror this node resolves tags through). Plain data,
 * part of the snapshot, so the stale checks stay pure. A failed lookup keeps its
 * classified reason: an unverified tag is never treated as fresh or stale.
 */
import type { ImageBuildMeta } from './snapshot.js';
import { SHA256_DIGEST } from './oci-grammar.js';

/** Why a tag could not be verified. */
export type RegistryErrorKind =
  | 'auth'
  | 'not-found'
  | 'rate-limited'
  | 'unreachable'
  | 'server-error'
  | 'invalid-response';

export const REGISTRY_ERROR_KINDS: readonly RegistryErrorKind[] = [
  'auth', 'not-found', 'rate-limited', 'unreachable', 'server-error', 'invalid-response',
];

/** Media types of a multi-platform index (Docker manifest list, OCI index). */
export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
]);

export type EndpointRole = 'upstream' | 'mirror';

/**
 * What a node of one platform runs from an answer: the platform manifest containerd
 * would pick (the first index entry matching the node's platform, attestation
 * entries with platform `unknown/unknown` never match) and its config digest, which
 * is the image ID the node would run.
 */
export interface PlatformImage {
  /** `os/architecture[/variant]` of the node the choice was made for. */
  readonly platform: string;
  /** Platform manifest digest (the index child, or the manifest itself). */
  readonly manifest: string;
  /** Config digest of that manifest: the image ID a pull would give. */
  readonly config: string;
}

/** What the node platform's image behind a digest is, or why it could not be read. */
export type PlatformRead = { readonly ok: true; readonly image: PlatformImage } | { readonly ok: false; readonly reason: string };

/**
 * Since when an endpoint has answered a digest for a tag, as far as tagdrift saw: from the
 * endpoint's answers, or from a push notification it sent to the shared resolver.
 */
export interface TagSince {
  readonly digest: string;
  /** ISO time the digest was first seen (by the resolver or the node, never the sender's clock). */
  readonly at: string;
  readonly via: 'answer' | 'notification';
  /**
   * True when another digest was seen before: `at` is when the tag was seen to move. False when
   * this was the first answer seen: the tag moved at `at` or earlier.
   */
  readonly moved: boolean;
}

export interface TagResolved {
  readonly ok: true;
  /** Top-level digest (`Docker-Content-Digest`): an index digest for a multi-arch tag. */
  readonly digest: string;
  readonly mediaType: string | undefined;
  /** Platform manifest digests when the tag is an index and they were fetched. */
  readonly children?: readonly string[];
  /** The node platform's image behind this answer, when it was read. */
  readonly platformImage?: PlatformImage;
  /** Why the node platform's image was not read (an index whose platform child is unknown). */
  readonly platformUnverified?: string;
  /** Build metadata of the registry's image (fetched only when it differs from the node's). */
  readonly build?: ImageBuildMeta;
  /** Set when the shared resolver (not this node) asked the registry. */
  readonly via?: 'resolver';
  /** When this endpoint last gave this answer (ISO time). */
  readonly confirmedAt?: string;
  /** Since when this endpoint answers this digest. */
  readonly since?: TagSince;
  /**
   * Set when this scan could not ask (a transient failure): the last answer stands, within
   * the hold bound (`--registry-hold`), until a fresh answer contradicts it.
   */
  readonly held?: { readonly kind: RegistryErrorKind; readonly message: string };
}

/** Failures that say nothing about the tag (the source could not be asked this time): a held answer outlives them. */
export const TRANSIENT_FAILURES: ReadonlySet<RegistryErrorKind> = new Set(['server-error', 'unreachable', 'rate-limited']);

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** A media type as RFC 6838 spells one (no parameters), else undefined. */
export function validMediaType(v: unknown): string | undefined {
  return typeof v === 'string' && MEDIA_TYPE.test(v) ? v : undefined;
}

/** Text from another party, made safe to show: no control characters, bounded length. */
export function safeText(v: unknown, max = 300): string {
  return (typeof v === 'string' ? v : '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, ' ').slice(0, max);
}

/**
 * A tag answer received from another process (the shared resolver), believed only once it has
 * the shape of one: a sha256 digest, a media type, at most 1,024 child digests, a known failure
 * kind and a bounded message. Anything else is an `invalid-response` failure naming `from`.
 */
export function acceptTagAnswer(v: unknown, from: string): TagResolved | TagUnverified {
  const bad = (why: string): TagUnverified => ({ ok: false, kind: 'invalid-response', message: `${from}: ${why}` });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('the answer is not a JSON object');
  const o = v as Record<string, unknown>;
  if (o['ok'] === true) {
    if (typeof o['digest'] !== 'string' || !SHA256_DIGEST.test(o['digest'])) return bad('the answer\'s digest is not a sha256 digest');
    const children = o['children'];
    if (children !== undefined && (!Array.isArray(children) || children.length > 1024 || !children.every((c) => typeof c === 'string' && SHA256_DIGEST.test(c)))) {
      return bad('the answer\'s child digests are not sha256 digests');
    }
    const at = isoTime(o['confirmedAt']);
    const since = acceptSince(o['since'], o['digest']);
    return {
      ok: true,
      digest: o['digest'],
      mediaType: validMediaType(o['mediaType']),
      ...(children !== undefined ? { children: children as string[] } : {}),
      ...(at ? { confirmedAt: at } : {}),
      ...(since ? { since } : {}),
    };
  }
  if (o['ok'] === false) {
    const kind = REGISTRY_ERROR_KINDS.find((k) => k === o['kind']);
    if (!kind) return bad('the answer names no known failure kind');
    return { ok: false, kind, message: safeText(o['message']) };
  }
  return bad('the answer is neither an answer nor a failure');
}

/** An ISO time another process sent, believed only when it parses and is not in the future by more than a minute. */
function isoTime(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > 40) return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) && t <= Date.now() + 60_000 ? new Date(t).toISOString() : undefined;
}

/** A `since` from the shared resolver: kept only when whole, about this answer's digest, and plausible. */
function acceptSince(v: unknown, digest: string): TagSince | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const at = isoTime(o['at']);
  if (o['digest'] !== digest || !at || (o['via'] !== 'answer' && o['via'] !== 'notification') || typeof o['moved'] !== 'boolean') return undefined;
  return { digest, at, via: o['via'], moved: o['moved'] };
}

export interface TagUnverified {
  readonly ok: false;
  readonly kind: RegistryErrorKind;
  /** Host, status and registry error code only: never credentials, query values or body text. */
  readonly message: string;
  /** Set when the shared resolver (not this node) answered. */
  readonly via?: 'resolver';
}

export interface TagAnswer {
  readonly registry: string;
  /** Repository path as sent on the wire (`library/nginx`). */
  readonly repository: string;
  readonly tag: string;
  readonly role: EndpointRole;
  /**
   * Position in the chain of resolve-capable hosts containerd walks for this tag
   * (0 = tried first); absent for an upstream asked only as the reference.
   */
  readonly position?: number;
  /** Endpoint URL as planned (scheme, host and any non-default API path). */
  readonly endpoint: string;
  readonly result: TagResolved | TagUnverified;
}

/** True when the answer is a multi-platform index (so its digest is not what a node runs). */
export function isIndexAnswer(result: TagResolved): boolean {
  return (result.mediaType !== undefined && INDEX_MEDIA_TYPES.has(result.mediaType)) || result.children !== undefined;
}

/** `same`: the node would run the same image; `changed`: it would not; `unverified`: cannot tell. */
export type Sameness = 'same' | 'changed' | 'unverified';

/** What the node holds for a tag: the repo digest it recorded and the image ID (config digest) it runs. */
export interface LocalImage {
  readonly digest: string | undefined;
  readonly imageId: string | undefined;
}

/**
 * Does the node's image match what the answer points to, for the node's platform?
 * An index digest changes when another platform or an attestation manifest changes,
 * so a different index digest alone proves nothing: the node platform's config
 * digest (the image ID) decides. A single-platform manifest is compared by digest.
 */
export function compareWithLocal(answer: TagResolved, local: LocalImage): Sameness {
  if (local.digest && (answer.digest === local.digest || answer.children?.includes(local.digest))) return 'same';
  if (answer.platformImage && local.imageId) {
    if (answer.platformImage.config === local.imageId) return 'same';
    if (local.digest && answer.platformImage.manifest === local.digest) return 'same';
    return 'changed';
  }
  if (!local.digest && !local.imageId) return 'unverified';
  return isIndexAnswer(answer) ? 'unverified' : 'changed';
}

/** Do two endpoints' answers give a node of this platform the same image? */
export function compareAnswers(a: TagResolved, b: TagResolved): Sameness {
  if (a.digest === b.digest) return 'same';
  if (a.platformImage && b.platformImage) return a.platformImage.config === b.platformImage.config ? 'same' : 'changed';
  if (a.children?.includes(b.digest) || b.children?.includes(a.digest)) return 'same';
  return isIndexAnswer(a) || isIndexAnswer(b) ? 'unverified' : 'changed';
}

/**
 * What containerd does after one host's answer while resolving a tag (its resolver
 * walks the resolve-capable hosts in order): `answered` ends the walk; `skipped`
 * moves on to the next host (404, auth refused, 5xx, connection errors: the same on
 * 1.6 to 2.3); `undetermined` means this answer does not tell what containerd got
 * (rate limiting is retried by containerd on the same host, and a garbled answer
 * may abort the pull), so nothing after it may be treated as the node's answer.
 */
export function hostOutcome(result: TagResolved | TagUnverified): 'answered' | 'skipped' | 'undetermined' {
  if (result.ok) return 'answered';
  switch (result.kind) {
    case 'not-found':
    case 'auth':
    case 'server-error':
    case 'unreachable':
      return 'skipped';
    default:
      return 'undetermined';
  }
}

/** The answers for one tag, read as containerd walks its hosts. */
export interface TagTruth {
  /** Resolve-capable hosts in the order containerd tries them, as far as the walk went. */
  readonly chain: readonly TagAnswer[];
  /** The host whose answer containerd uses for this node's pulls. */
  readonly resolver?: TagAnswer;
  /** Hosts before the resolver that containerd passes over. */
  readonly skipped: readonly TagAnswer[];
  /** A host whose failure leaves the node's answer unknown. */
  readonly undetermined?: TagAnswer;
  /** The registry itself (the final `server` entry): the reference for "current". */
  readonly upstream?: TagAnswer;
}

/** Groups a scan's answers per `registry/repository:tag` and walks each chain (pure). */
export function truthByTag(answers: readonly TagAnswer[]): Map<string, TagTruth> {
  const grouped = new Map<string, TagAnswer[]>();
  for (const a of answers) {
    const key = `${a.registry}/${a.repository}:${a.tag}`;
    const list = grouped.get(key) ?? [];
    list.push(a);
    grouped.set(key, list);
  }
  const out = new Map<string, TagTruth>();
  for (const [key, list] of grouped) {
    const chain = list.filter((a) => a.position !== undefined).sort((x, y) => x.position! - y.position!);
    const upstream = list.find((a) => a.role === 'upstream' && a.position === undefined) ?? chain.find((a) => a.role === 'upstream');
    const skipped: TagAnswer[] = [];
    let resolver: TagAnswer | undefined;
    let undetermined: TagAnswer | undefined;
    for (const a of chain) {
      const o = hostOutcome(a.result);
      if (o === 'answered') {
        resolver = a;
        break;
      }
      if (o === 'undetermined') {
        undetermined = a;
        break;
      }
      skipped.push(a);
    }
    out.set(key, { chain, skipped, ...(resolver ? { resolver } : {}), ...(undetermined ? { undetermined } : {}), ...(upstream ? { upstream } : {}) });
  }
  return out;
}

/** What a registry client reports to metrics beyond its per-request hook. */
export interface RegistryStats {
  /** Last `ratelimit-remaining` seen per host (Docker Hub). */
  readonly rateLimitRemaining: ReadonlyMap<string, number>;
}

/** " (moved at T, announced by the registry)" for a move tagdrift saw; nothing when it did not see one. */
export function movedNote(s: TagSince | undefined): string {
  if (!s?.moved) return '';
  return ` (moved at ${s.at}${s.via === 'notification' ? ', announced by the registry' : ''})`;
}

/** How long before `nowIso` the answer became true, whole seconds; `atLeast` when only the first answer is known. */
export function lagSince(s: TagSince | undefined, nowIso: string): { seconds: number; atLeast: boolean } | undefined {
  if (!s) return undefined;
  const ms = Date.parse(nowIso) - Date.parse(s.at);
  if (!Number.isFinite(ms)) return undefined;
  return { seconds: Math.max(0, Math.round(ms / 1000)), atLeast: !s.moved };
}

/** 75 → "1m 15s", 7260 → "2h 1m". */
export function formatSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}
