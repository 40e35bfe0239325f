/**
 * Image references, normalised the way containerd and the Docker CLI do it
 * (github.com/distribution/reference `ParseNormalizedNamed`):
 *
 *   nginx                      → docker.io/library/nginx:latest
 *   bitnami/redis:7            → docker.io/bitnami/redis:7
 *   localhost:5000/app         → localhost:5000/app:latest
 *   ghcr.io/o/app:1@sha256:…   → tag and digest both kept; the digest is what runs
 *
 * The first path component is a registry host only when it contains "." or ":"
 * or is exactly "localhost"; otherwise the registry is docker.io, whose
 * single-component repositories live under "library/".
 */
import { SHA256_DIGEST as SHA256_RE } from './oci-grammar.js';

const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_RE = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const MAX_NAME_LENGTH = 255;

export const DOCKER_HUB = 'docker.io';

/** Host names that all mean Docker Hub (`docker.io` in references; `registry-1.docker.io` is its API host). */
export function isDockerHubHost(host: string): boolean {
  return host === DOCKER_HUB || host === 'index.docker.io' || host === 'registry-1.docker.io';
}

export interface ImageRef {
  /** Registry host as written in references, with port: `docker.io`, `localhost:5000`. */
  readonly registry: string;
  /** Repository path without the host: `library/nginx`. */
  readonly repository: string;
  /** Tag; `latest` when the reference named neither tag nor digest. */
  readonly tag: string | undefined;
  /** `sha256:<hex>` when the reference is pinned by digest. */
  readonly digest: string | undefined;
  /** True when no tag was written and `latest` was implied. */
  readonly implicitTag: boolean;
}

export class ImageRefError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`invalid image reference ${JSON.stringify(truncate(input))}: ${reason}`);
    this.name = 'ImageRefError';
  }
}

function truncate(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function isRegistryComponent(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

/** Parses and normalises an image reference; throws ImageRefError on bad input. */
export function parseImageRef(input: string): ImageRef {
  if (typeof input !== 'string' || input.length === 0) throw new ImageRefError(String(input), 'empty');
  if (input !== input.trim()) throw new ImageRefError(input, 'surrounding whitespace');
  if (isImageId(input)) throw new ImageRefError(input, 'an image ID, not a reference');

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new ImageRefError(input, 'malformed digest');
    if (digest.startsWith('sha256:') && !SHA256_RE.test(digest)) {
      throw new ImageRefError(input, 'sha256 digest must be 64 lowercase hex characters');
    }
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) throw new ImageRefError(input, 'malformed tag');
  }
  if (rest.length === 0) throw new ImageRefError(input, 'missing repository');

  const slash = rest.indexOf('/');
  let registry: string;
  let repository: string;
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && isRegistryComponent(first)) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!HOST_RE.test(registry)) throw new ImageRefError(input, 'malformed registry host');
  } else {
    registry = DOCKER_HUB;
    repository = rest;
  }
  // Docker Hub aliases: the legacy index host names the same registry.
  if (isDockerHubHost(registry)) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;

  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT_RE.test(component)) {
      throw new ImageRefError(input, /[A-Z]/.test(component) ? 'repository must be lowercase' : 'malformed repository path');
    }
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) throw new ImageRefError(input, 'name too long');

  const implicitTag = tag === undefined && digest === undefined;
  return { registry, repository, tag: implicitTag ? 'latest' : tag, digest, implicitTag };
}

/**
 * Parsed references by input. One scan names the same references many times (the
 * index, the join, the tag plan, the checks), so each is parsed once per scan;
 * results are frozen and shared. The cache is dropped whole when it reaches its bound.
 */
const MEMO_LIMIT = 100_000;
const memo = new Map<string, ImageRef | null>();

/** Drops the memo (the agent does after each scan, so no scan's strings outlive it). */
export function resetImageRefCache(): void {
  memo.clear();
}

/** Like parseImageRef, but returns undefined instead of throwing (memoised). */
export function tryParseImageRef(input: string): ImageRef | undefined {
  const hit = memo.get(input);
  if (hit !== undefined) return hit ?? undefined;
  let ref: ImageRef | null;
  try {
    ref = Object.freeze(parseImageRef(input));
  } catch {
    ref = null;
  }
  if (memo.size >= MEMO_LIMIT) memo.clear();
  if (typeof input === 'string') memo.set(input, ref);
  return ref ?? undefined;
}

/** `registry/repository`, e.g. `docker.io/library/nginx`. */
export function refName(ref: ImageRef): string {
  return `${ref.registry}/${ref.repository}`;
}

/** Fully normalised string: `docker.io/library/nginx:latest`, `name@sha256:…`, or `name:tag@sha256:…`. */
export function formatRef(ref: ImageRef): string {
  let s = refName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** `name:tag` (no digest), or undefined when the reference has no tag. */
export function tagRef(ref: ImageRef): string | undefined {
  return ref.tag === undefined ? undefined : `${refName(ref)}:${ref.tag}`;
}

/** A node-local image ID (`sha256:<config digest>`), which is not a pullable reference. */
export function isImageId(s: string): boolean {
  return SHA256_RE.test(s);
}

/** Splits a repo digest `name@sha256:…` into its normalised name and digest. */
export function parseRepoDigest(s: string): { name: string; digest: string } | undefined {
  const ref = tryParseImageRef(s);
  if (!ref || ref.digest === undefined) return undefined;
  return { name: refName(ref), digest: ref.digest };
}

/** Short, human form of a digest: `sha256:0123456789ab`. */
export function shortDigest(digest: string | undefined): string {
  if (!digest) return '-';
  const [algo, hex] = digest.split(':');
  return hex ? `${algo}:${hex.slice(0, 12)}` : digest;
}
