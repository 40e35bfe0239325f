/**
 * Manifests as the registry client reads them: containerd's Accept list, the minimal
 * JSON shape it needs (index children, config digest), and the registry's error code.
 */
import { INDEX_MEDIA_TYPES } from '../../domain/tag-truth.js';

export const MANIFEST_ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  '*/*',
].join(', ');

export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 16 * 1024;

/** The registry's own error code (`MANIFEST_UNKNOWN`) from an error body: no free text. */
export function errorCode(body: Buffer): string {
  try {
    const doc = JSON.parse(body.subarray(0, MAX_ERROR_BODY).toString('utf8')) as { errors?: { code?: unknown }[] };
    const code = doc.errors?.[0]?.code;
    return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? ` ${code}` : '';
  } catch {
    return '';
  }
}

export interface ManifestDoc {
  mediaType?: string;
  schemaVersion?: number;
  manifests?: { digest?: string; platform?: { os?: string; architecture?: string; variant?: string } }[];
  config?: { digest?: string };
}

export function parseManifest(body: Buffer): ManifestDoc | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
    const m = doc as ManifestDoc;
    if (typeof m.schemaVersion !== 'number' && typeof m.mediaType !== 'string') return undefined;
    return m;
  } catch {
    return undefined;
  }
}

export function isIndex(mediaType: string | undefined, doc?: ManifestDoc): boolean {
  return (mediaType !== undefined && INDEX_MEDIA_TYPES.has(mediaType)) || Array.isArray(doc?.manifests);
}

