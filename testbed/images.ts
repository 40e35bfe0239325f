/**
 * Test images: a real, runnable OCI image written by hand (one gzip'd layer with a
 * static binary that waits for SIGTERM, a config with OCI labels, a manifest, an
 * index) and pushed to a registry with skopeo.
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
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
