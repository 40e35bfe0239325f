/** Small OCI artefacts for registry tests: a config, one layer, a manifest, an index; and a push over the distribution API. */
import { createHash } from 'node:crypto';

export interface Blob {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly mediaType: string;
}

export interface TestImage {
  readonly manifest: Blob;
  readonly blobs: readonly Blob[];
}

function blob(bytes: Buffer, mediaType: string): Blob {
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes, mediaType };
}

export function makeImage(labels: { version?: string; revision?: string; created?: string }, arch = 'amd64'): TestImage {
  const l: Record<string, string> = {};
  if (labels.version) l['org.opencontainers.image.version'] = labels.version;
  if (labels.revision) l['org.opencontainers.image.revision'] = labels.revision;
  const config = blob(
    Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', created: labels.created ?? '2026-01-01T00:00:00Z', config: { Labels: l }, rootfs: { type: 'layers', diff_ids: [] } })),
    'application/vnd.oci.image.config.v1+json',
  );
  const layer = blob(Buffer.from(`layer ${labels.version ?? ''} ${labels.revision ?? ''} ${arch}`), 'application/vnd.oci.image.layer.v1.tar');
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: config.mediaType, digest: config.digest, size: config.bytes.length },
        layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.bytes.length }],
      }),
    ),
    'application/vnd.oci.image.manifest.v1+json',
  );
  return { manifest, blobs: [config, layer] };
}

/**
 * A BuildKit-style attestation manifest for `subject` (listed in an index with
 * platform unknown/unknown); `nonce` stands for the invocation details that make
 * every push's provenance different.
 */
export function makeAttestation(subject: string, nonce: string): TestImage {
  const config = blob(Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [] } })), 'application/vnd.oci.image.config.v1+json');
  const statement = blob(Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ digest: { sha256: subject.slice(7) } }], predicate: { invocation: nonce } })), 'application/vnd.in-toto+json');
  const manifest = blob(
    Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: config.mediaType, digest: config.digest, size: config.bytes.length },
      layers: [{ mediaType: statement.mediaType, digest: statement.digest, size: statement.bytes.length, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
    })),
    'application/vnd.oci.image.manifest.v1+json',
  );
  return { manifest, blobs: [config, statement] };
}

export interface IndexEntry {
  readonly image: TestImage;
  readonly arch: string;
  readonly os?: string;
  readonly variant?: string;
  /** Marks a BuildKit attestation entry for this subject digest. */
  readonly attests?: string;
}

export function makeIndex(children: readonly IndexEntry[]): Blob {
  return blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: children.map((c) => ({
          mediaType: c.image.manifest.mediaType,
          digest: c.image.manifest.digest,
          size: c.image.manifest.bytes.length,
          platform: { os: c.os ?? 'linux', architecture: c.arch, ...(c.variant ? { variant: c.variant } : {}) },
          ...(c.attests ? { annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': c.attests } } : {}),
        })),
      }),
    ),
    'application/vnd.oci.image.index.v1+json',
  );
}

/** Pushes blobs and a manifest (by digest, then under `tag`) through the distribution API. */
export async function pushImage(baseUrl: string, repo: string, tag: string, image: TestImage, headers: Record<string, string> = {}): Promise<void> {
  for (const b of image.blobs) await pushBlob(baseUrl, repo, b, headers);
  await pushManifest(baseUrl, repo, tag, image.manifest, headers);
}

export async function pushBlob(baseUrl: string, repo: string, b: Blob, headers: Record<string, string> = {}): Promise<void> {
  const start = await fetch(`${baseUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status}`);
  const loc = new URL(start.headers.get('location')!, baseUrl);
  loc.searchParams.set('digest', b.digest);
  const put = await fetch(loc, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: b.bytes });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status}`);
}

export async function pushManifest(baseUrl: string, repo: string, ref: string, m: Blob, headers: Record<string, string> = {}): Promise<void> {
  const put = await fetch(`${baseUrl}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { ...headers, 'content-type': m.mediaType }, body: m.bytes });
  if (put.status !== 201) throw new Error(`manifest put ${repo}:${ref}: HTTP ${put.status} ${await put.text()}`);
}
