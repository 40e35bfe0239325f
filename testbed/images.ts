/**
 * Test images: a real, runnable OCI image written by hand (one gzip'd layer with a
 * static binary that waits for SIGTERM, a config with OCI labels, a manifest, an
 * index) and pushed to a registry with skopeo.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from './proc.js';

const SLEEPER_C = `#include <signal.h>
#include <unistd.h>
static void stop(int s) { (void)s; _exit(0); }
int main(void) { signal(SIGTERM, stop); signal(SIGINT, stop); for (;;) pause(); }
`;

export interface BuiltImage {
  /** OCI layout directory; push it with pushImage. */
  readonly layoutDir: string;
  /** Digest of the manifest: what a registry answers for the tag, and the repo digest after a pull. */
  readonly manifestDigest: string;
  /** Digest of the config blob: the node-local image ID after a pull. */
  readonly imageId: string;
}

export interface ImageSpecInput {
  /** Distinguishes builds: written into the image, so every build has its own digests. */
  readonly version: string;
  readonly revision?: string;
  readonly created?: string;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function ensureSleeper(workDir: string): Promise<string> {
  const bin = join(workDir, 'sleeper');
  if (existsSync(bin)) return bin;
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, 'sleeper.c'), SLEEPER_C);
  await run('gcc', ['-static', '-Os', '-s', '-o', bin, join(workDir, 'sleeper.c')]);
  return bin;
}

function ociArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
}

export async function buildImage(workDir: string, name: string, spec: ImageSpecInput): Promise<BuiltImage> {
  const sleeper = await ensureSleeper(workDir);
  const rootfs = join(workDir, `${name}-rootfs`);
  const layoutDir = join(workDir, `${name}-oci`);
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true });
  await run('cp', [sleeper, join(rootfs, 'sleeper')]);
  writeFileSync(join(rootfs, 'etc', 'build-info'), `version=${spec.version}\nrevision=${spec.revision ?? ''}\n`);
  const rawTar = await tarBytes(rootfs);
  const layer = gzipSync(rawTar);
  const created = spec.created ?? '2026-01-01T00:00:00Z';
  const config = Buffer.from(
    JSON.stringify({
      architecture: ociArch(),
      os: 'linux',
      created,
      config: {
        Entrypoint: ['/sleeper'],
        Labels: {
          'org.opencontainers.image.version': spec.version,
          ...(spec.revision ? { 'org.opencontainers.image.revision': spec.revision } : {}),
          'org.opencontainers.image.created': created,
        },
      },
      rootfs: { type: 'layers', diff_ids: [sha256(rawTar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  for (const blob of [layer, config, manifest]) {
    writeFileSync(join(layoutDir, 'blobs', 'sha256', sha256(blob).slice(7)), blob);
  }
  writeFileSync(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': 'image' },
        },
      ],
    }),
  );
  return { layoutDir, manifestDigest: sha256(manifest), imageId: sha256(config) };
}

/** tar of a directory as raw bytes (execFile's string output would mangle binary data). */
async function tarBytes(dir: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--sort=name', '-C', dir, '-cf', '-', '.']);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`tar exited ${code}`))));
  });
}

/** Pushes an OCI layout to `host:port/repo:tag` over plain HTTP; the manifest is copied unchanged. */
export async function pushImage(image: BuiltImage, dest: string, creds?: { username: string; password: string }): Promise<void> {
  await run('skopeo', [
    'copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', '--preserve-digests',
    ...(creds ? ['--dest-creds', `${creds.username}:${creds.password}`] : []),
    `oci:${image.layoutDir}:image`, `docker://${dest}`,
  ]);
}

export interface IndexSpecInput {
  /** Build of this machine's platform (the child the node runs). */
  readonly native: ImageSpecInput;
  /** Build of the other architecture's child; omit for an index without it. */
  readonly other?: ImageSpecInput;
  /** Stands for the invocation details BuildKit's provenance records; differs on every push. */
  readonly attestation?: string;
}

export interface BuiltIndex {
  readonly layoutDir: string;
  readonly indexDigest: string;
  /** The native child's manifest digest and config digest (the image ID after a pull). */
  readonly nativeManifest: string;
  readonly imageId: string;
  readonly otherManifest?: string;
}

function otherArch(): string {
  return ociArch() === 'amd64' ? 'arm64' : 'amd64';
}

/** A child for another architecture: its own config, the native layer (never run here). */
function otherChild(layoutDir: string, native: { layer: { digest: string; size: number } }, spec: ImageSpecInput): { digest: string; size: number } {
  const config = Buffer.from(JSON.stringify({ architecture: otherArch(), os: 'linux', created: spec.created ?? '2026-01-01T00:00:00Z', config: { Labels: { 'org.opencontainers.image.version': spec.version } }, rootfs: { type: 'layers', diff_ids: [] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...native.layer }],
  }));
  for (const b of [config, manifest]) writeFileSync(join(layoutDir, 'blobs', 'sha256', sha256(b).slice(7)), b);
  return { digest: sha256(manifest), size: manifest.length };
}

/** A BuildKit-style attestation manifest for `subject` (platform unknown/unknown in the index). */
function attestation(layoutDir: string, subject: string, nonce: string): { digest: string; size: number } {
  const config = Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
  const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ digest: { sha256: subject.slice(7) } }], predicate: { invocation: nonce } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.in-toto+json', digest: sha256(statement), size: statement.length, annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } }],
  }));
  for (const b of [config, statement, manifest]) writeFileSync(join(layoutDir, 'blobs', 'sha256', sha256(b).slice(7)), b);
  return { digest: sha256(manifest), size: manifest.length };
}

export async function buildIndexImage(workDir: string, name: string, spec: IndexSpecInput): Promise<BuiltIndex> {
  const tag = `${spec.native.version}-${spec.other?.version ?? 'none'}-${spec.attestation ?? 'none'}`.replace(/[^A-Za-z0-9.-]/g, '_');
  const native = await buildImage(workDir, `${name}-${tag}-native`, spec.native);
  const layoutDir = native.layoutDir;
  const nativeManifest = readFileSync(join(layoutDir, 'blobs', 'sha256', native.manifestDigest.slice(7)));
  const layer = (JSON.parse(nativeManifest.toString()) as { layers: { digest: string; size: number }[] }).layers[0]!;
  const entries: unknown[] = [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: native.manifestDigest, size: nativeManifest.length, platform: { os: 'linux', architecture: ociArch() } },
  ];
  let otherManifest: string | undefined;
  if (spec.other) {
    const o = otherChild(layoutDir, { layer: { digest: layer.digest, size: layer.size } }, spec.other);
    otherManifest = o.digest;
    entries.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...o, platform: { os: 'linux', architecture: otherArch() } });
  }
  if (spec.attestation) {
    const a = attestation(layoutDir, native.manifestDigest, spec.attestation);
    entries.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json', ...a, platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': native.manifestDigest },
    });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }));
  writeFileSync(join(layoutDir, 'blobs', 'sha256', sha256(index).slice(7)), index);
  writeFileSync(join(layoutDir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(index), size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'image' } }],
  }));
  return { layoutDir, indexDigest: sha256(index), nativeManifest: native.manifestDigest, imageId: native.imageId, ...(otherManifest ? { otherManifest } : {}) };
}

/** Pushes an index with every manifest it lists, digests unchanged. */
export async function pushIndex(image: BuiltIndex, dest: string): Promise<void> {
  await run('skopeo', [
    'copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', '--preserve-digests', '--all',
    `oci:${image.layoutDir}:image`, `docker://${dest}`,
  ]);
}
