/**
 * Push notifications from registries, as the shared resolver receives them: the CNCF
 * distribution registry's envelope (`notifications.endpoints`, media type
 * application/vnd.docker.distribution.events.v1+json) and Harbor's webhook (PUSH_ARTIFACT,
 * JSON). Both are parsed into one shape, each field checked against the grammar it must
 * have; anything else in them (actor, request addresses, URLs) is not read.
 *
 * Which registry a notification speaks for is decided by the secret it carries, never by what
 * it says: a sender can only move the tags of the endpoint its secret is configured for.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { validMediaType } from '../domain/tag-truth.js';
import { validDigest, validRepository, validTag } from '../domain/oci-grammar.js';

/** One tag pushed, as a notification says. */
export interface Push {
  readonly repository: string;
  readonly tag: string;
  readonly digest: string;
  /** The manifest's media type, when the sender names it (distribution does, Harbor does not). */
  readonly mediaType: string | undefined;
}

export interface ParsedNotification {
  readonly format: 'distribution' | 'harbor';
  readonly pushes: readonly Push[];
  /** Events that are not a tag push (pulls, deletes, blob pushes, pushes by digest) or did not validate. */
  readonly ignored: number;
}

/** Events read from one notification at most; the body itself is capped by the route. */
export const MAX_EVENTS = 1_000;
export const MAX_NOTIFICATION_BYTES = 1024 * 1024;
export const DISTRIBUTION_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';


/** Manifest media types a tag can point to: a push of anything else (a blob, a layer) is not a tag moving. */
const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
]);

function push(repository: unknown, tag: unknown, digest: unknown, mediaType: string | undefined): Push | undefined {
  if (!validRepository(repository) || !validTag(tag) || !validDigest(digest)) return undefined;
  return { repository, tag, digest, mediaType };
}

/** Parses a notification body, or says why it is not one. */
export function parseNotification(body: unknown): ParsedNotification | Error {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return new Error('the body is not a JSON object');
  const o = body as Record<string, unknown>;
  if (Array.isArray(o['events'])) return distribution(o['events']);
  if (typeof o['type'] === 'string' && typeof o['event_data'] === 'object' && o['event_data'] !== null) return harbor(o['type'], o['event_data'] as Record<string, unknown>);
  return new Error('neither a distribution notification envelope (events) nor a Harbor webhook (type, event_data)');
}

function distribution(events: readonly unknown[]): ParsedNotification | Error {
  if (events.length > MAX_EVENTS) return new Error(`more than ${MAX_EVENTS} events in one envelope`);
  const pushes: Push[] = [];
  for (const e of events) {
    const ev = (typeof e === 'object' && e !== null ? e : {}) as { action?: unknown; target?: Record<string, unknown> };
    const t = ev.target ?? {};
    const mediaType = validMediaType(t['mediaType']);
    const p = ev.action === 'push' && mediaType !== undefined && MANIFEST_TYPES.has(mediaType) ? push(t['repository'], t['tag'], t['digest'], mediaType) : undefined;
    if (p) pushes.push(p);
  }
  return { format: 'distribution', pushes, ignored: events.length - pushes.length };
}

function harbor(type: string, data: Record<string, unknown>): ParsedNotification | Error {
  const resources = Array.isArray(data['resources']) ? data['resources'] : [];
  if (resources.length > MAX_EVENTS) return new Error(`more than ${MAX_EVENTS} resources in one webhook`);
  if (type !== 'PUSH_ARTIFACT') return { format: 'harbor', pushes: [], ignored: Math.max(1, resources.length) };
  const repo = (typeof data['repository'] === 'object' && data['repository'] !== null ? data['repository'] : {}) as Record<string, unknown>;
  const pushes: Push[] = [];
  for (const r of resources) {
    const res = (typeof r === 'object' && r !== null ? r : {}) as Record<string, unknown>;
    const p = push(repo['repo_full_name'], res['tag'], res['digest'], undefined);
    if (p) pushes.push(p);
  }
  return { format: 'harbor', pushes, ignored: resources.length - pushes.length };
}

/** A configured sender: the endpoint whose tags its notifications may move, and its secret. */
export interface NotificationSender {
  readonly endpoint: string;
  readonly secret: string;
}

export const MIN_SECRET_LENGTH = 16;

/**
 * The sender an Authorization header value belongs to (`Bearer <secret>`, or the secret
 * alone as Harbor's auth header may carry it), compared in constant time; undefined when
 * none matches.
 */
export function senderOf(header: unknown, senders: readonly NotificationSender[]): NotificationSender | undefined {
  if (typeof header !== 'string' || header.length > 1024) return undefined;
  const given = header.startsWith('Bearer ') ? header.slice(7) : header;
  const g = createHash('sha256').update(given).digest();
  let found: NotificationSender | undefined;
  for (const s of senders) {
    // Every sender is compared (no early exit), on digests of equal length.
    if (timingSafeEqual(g, createHash('sha256').update(s.secret).digest())) found ??= s;
  }
  return found;
}
