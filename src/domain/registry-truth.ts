/**
 * Registry truth: what a tag points to *now*, as answered by one endpoint (the
 * registry's upstream, or the mirror this node resolves tags through). Plain data,
 * part of the snapshot, so the stale checks stay pure. A failed lookup keeps its
 * classified reason: an unverified tag is never treated as fresh or stale.
 */
import type { ImageBuildMeta } from './snapshot.js';

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

export interface TagResolved {
  readonly ok: true;
  /** Top-level digest (`Docker-Content-Digest`): an index digest for a multi-arch tag. */
  readonly digest: string;
  readonly mediaType: string | undefined;
  /** Platform manifest digests when the tag is an index and they were fetched. */
  readonly children?: readonly string[];
  /** Build metadata of the registry's image (fetched only when it differs from the node's). */
  readonly build?: ImageBuildMeta;
}

export interface TagUnverified {
  readonly ok: false;
  readonly kind: RegistryErrorKind;
  /** Host, status and registry error code only: never credentials, query values or body text. */
  readonly message: string;
}

export interface TagAnswer {
  readonly registry: string;
  /** Repository path as sent on the wire (`library/nginx`). */
  readonly repository: string;
  readonly tag: string;
  readonly role: EndpointRole;
  /** Endpoint URL as planned (scheme, host and any non-default API path). */
  readonly endpoint: string;
  readonly result: TagResolved | TagUnverified;
}

/** True when `digest` is what the answer names: the same digest, or one of its platform manifests. */
export function answerNames(result: TagResolved, digest: string | undefined): boolean {
  if (!digest) return false;
  return result.digest === digest || (result.children?.includes(digest) ?? false);
}
