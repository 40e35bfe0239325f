/**
 * `npm run image`: assembles tagdrift's OCI image without a container engine.
 *
 *   layer 1 (runtime): the pinned Node.js binary (.node-version) at /usr/local/bin/node and
 *     exactly the shared libraries `ldd` says it loads, CA certificates, passwd/group
 *     entries, /tmp, and the SBOM at /usr/share/doc/tagdrift/sbom.cdx.json
 *   layer 2 (app): /app/package.json, /app/node_modules (production dependencies only,
 *     `npm ci --omit=dev --omit=optional`: @kubernetes/client-node, used only with a
 *     kubeconfig, is left out), /app/dist/src (compiled), /app/protos
 *   config: entrypoint, cmd, env, user, working dir and exposed port as the Dockerfile's
 *     final stage declares them (test/unit/image.test.ts compares the two), OCI labels
 *     (version, revision, source, created)
 *
 * Output: .tools/image/oci (an OCI image layout, tag = package version; `skopeo copy
 * oci:.tools/image/oci:<version> docker://…` pushes it), .tools/image/sbom.cdx.json and
 * .tools/image/image.json (digests and sizes). Layers are reproducible: sorted entries,
 * uid/gid 0, mtimes from the last commit (SOURCE_DATE_EPOCH), gzip without a name or time.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { imageSbom } from './image-sbom.js';
import { foreignRuntime, type ImageArch, type Runtime } from './foreign-runtime.js';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT = join(ROOT, '.tools', 'image');
/** Compressed size budget (layers + config + manifest), recorded in BENCHMARKS.md. */
export const IMAGE_BUDGET_BYTES = 80 * 1024 * 1024;

/** What the image declares: kept in step with the Dockerfile's final stage by test/unit/image.test.ts. */
export const IMAGE_CONFIG = {
  workingDir: '/app',
  user: '0:0',
  // Measured in BENCHMARKS.md (image-rss), each paid for on every node:
  // --lite-mode (V8: no optimising compiler, bytecode flushed sooner) costs ~2× CPU on a
  //   scan that runs every 5 minutes and saves ~14 MiB of RSS; it cannot be in NODE_OPTIONS;
  // --no-node-snapshot builds Node's start-up state by running it (~50 ms more at start)
  //   instead of mapping the snapshot in the binary: ~4 MiB fewer of its pages resident;
  // --expose-gc lets the agent collect once after each scan (src/cli/agent.ts).
  entrypoint: ['node', '--lite-mode', '--no-node-snapshot', '--expose-gc', '/app/dist/src/cli/main.js'],
  cmd: ['agent'],
  exposedPorts: ['9420/tcp'],
  env: {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    NODE_ENV: 'production',
    NODE_OPTIONS: '--max-old-space-size=128 --max-semi-space-size=2',
    // glibc malloc: two arenas, and blocks of 16 KiB and more mapped on their own and
    // returned when freed, so a scan's transient buffers (a 5 MiB ListImages answer arriving
    // in 16 KiB frames, gzip) do not stay in RSS (image-rss: −25 MiB at 5,000 images with
    // 64 KiB, another −4 MiB of malloc heap with 16 KiB).
    MALLOC_ARENA_MAX: '2',
    MALLOC_MMAP_THRESHOLD_: '16384',
    MALLOC_TRIM_THRESHOLD_: '65536',
  } as Record<string, string>,
  /** Entries directly under /app. */
  appEntries: ['dist', 'node_modules', 'package.json', 'protos'],
};

const sh = (cmd: string, args: string[], cwd = ROOT): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function pinnedNode(): string {
  const version = readFileSync(join(ROOT, '.node-version'), 'utf8').trim();
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const node = process.env['TAGDRIFT_NODE'] ?? join(ROOT, '.tools', `node-v${version}-linux-${arch}`, 'bin', 'node');
  if (!existsSync(node)) throw new Error(`${node} missing: source scripts/pinned-node.sh first (npm run image does)`);
  const got = sh(node, ['--version']).trim();
  if (got !== `v${version}`) throw new Error(`${node} is ${got}, .node-version says v${version}`);
  return node;
}

/** Every shared object `ldd` resolves for the binary, plus the loader: paths as the binary looks them up. */
export function sharedLibraries(binary: string): string[] {
  const libs: string[] = [];
  for (const line of sh('ldd', [binary]).split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const loader = /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (arrow) libs.push(arrow[1]!);
    else if (loader) libs.push(loader[1]!);
    else if (/not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
  }
  return libs;
}

function put(root: string, path: string, from: string, mode?: number): void {
  const to = join(root, path);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(realpathSync(from), to);
  if (mode !== undefined) chmodSync(to, mode);
}

function write(root: string, path: string, text: string, mode = 0o644): void {
  const to = join(root, path);
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, text);
  chmodSync(to, mode);
}

function layer(dir: string, epoch: number): { gz: Buffer; diffId: string } {
  const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '--format=posix', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', dir, '-cf', '-', '.'], { maxBuffer: 1024 * 1024 * 1024 });
  return { gz: gzipSync(tar, { level: 9 }), diffId: sha256(tar) };
}

export interface BuiltImage {
  layout: string;
  tag: string;
  /** The image index (linux/amd64 + linux/arm64) the tag names. */
  indexDigest: string;
  /** This machine's platform child: what the real-bed tests run. */
  manifestDigest: string;
  configDigest: string;
  compressedBytes: number;
  uncompressedBytes: number;
  layers: { digest: string; size: number; diffId: string; bytes: number }[];
  platforms: { platform: string; manifestDigest: string; compressedBytes: number; runtimeLayer: string }[];
}

function commitEpoch(): number {
  return Number(process.env['SOURCE_DATE_EPOCH'] ?? (() => {
    try {
      return sh('git', ['log', '-1', '--format=%ct']).trim();
    } catch {
      return '0';
    }
  })());
}

/** This machine's runtime: the pinned Node.js and exactly the shared libraries ldd says it loads. */
function hostRuntime(): Runtime {
  const node = pinnedNode();
  return { arch: process.arch === 'arm64' ? 'arm64' : 'amd64', node, libraries: sharedLibraries(node).map((lib) => ({ file: realpathSync(lib), path: lib })) };
}

/** Stages layer 1 for one platform: node, its libraries, CA certificates, passwd/group, the SBOM. */
function stageRuntime(base: string, rt: Runtime, created: string): string {
  const version = readFileSync(join(ROOT, '.node-version'), 'utf8').trim();
  put(base, 'usr/local/bin/node', rt.node, 0o755);
  const nodeLicense = join(dirname(dirname(rt.node)), 'LICENSE');
  if (existsSync(nodeLicense)) put(base, 'usr/share/doc/nodejs/LICENSE', nodeLicense);
  for (const lib of rt.libraries) put(base, lib.path, lib.file, 0o755);
  put(base, 'etc/ssl/certs/ca-certificates.crt', '/etc/ssl/certs/ca-certificates.crt');
  write(base, 'etc/passwd', 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/usr/sbin/nologin\n');
  write(base, 'etc/group', 'root:x:0:\nnonroot:x:65532:\n');
  write(base, 'etc/nsswitch.conf', 'hosts: files dns\n');
  for (const d of ['tmp', 'root', 'home/nonroot']) mkdirSync(join(base, d), { recursive: true });
  chmodSync(join(base, 'tmp'), 0o1777);
  const sbom = imageSbom({
    npmSbom: sh('npm', ['sbom', '--sbom-format', 'cyclonedx', '--omit', 'dev', '--omit', 'optional', '--package-lock-only']),
    created,
    arch: rt.arch,
    node: { version, file: rt.node, path: '/usr/local/bin/node' },
    libraries: rt.libraries,
    caBundle: { file: '/etc/ssl/certs/ca-certificates.crt', path: '/etc/ssl/certs/ca-certificates.crt' },
  });
  write(base, 'usr/share/doc/tagdrift/sbom.cdx.json', sbom);
  return sbom;
}

export function buildImage(): BuiltImage {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/src missing: npm run build first');
  const revision = (() => {
    try {
      return sh('git', ['rev-parse', 'HEAD']).trim();
    } catch {
      return 'unknown';
    }
  })();
  const epoch = commitEpoch();
  const created = new Date(epoch * 1000).toISOString();
  const host = hostRuntime();
  const other: ImageArch = host.arch === 'amd64' ? 'arm64' : 'amd64';
  const runtimes = [host, foreignRuntime(ROOT, other, readFileSync(join(ROOT, '.node-version'), 'utf8').trim())];
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });

  // Layer 2: the app, production dependencies only (JavaScript and protos: the same on every platform).
  const app = join(OUT, 'stage', 'app');
  const appDir = join(app, 'app');
  mkdirSync(appDir, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, f), join(appDir, f));
  sh('npm', ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], appDir);
  rmSync(join(appDir, 'package-lock.json'));
  rmSync(join(appDir, 'node_modules', '.package-lock.json'), { force: true });
  cpSync(join(ROOT, 'dist', 'src'), join(appDir, 'dist', 'src'), { recursive: true, filter: (p) => !p.endsWith('.map') });
  cpSync(join(ROOT, 'protos'), join(appDir, 'protos'), { recursive: true });
  const appLayer = layer(app, epoch);

  const blobs = join(OUT, 'oci', 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (b: Buffer): string => {
    const d = sha256(b);
    writeFileSync(join(blobs, d.slice(7)), b);
    return d;
  };
  const labels = {
    'org.opencontainers.image.title': 'tagdrift',
    'org.opencontainers.image.version': pkg.version,
    'org.opencontainers.image.revision': revision,
    'org.opencontainers.image.source': 'https://github.com/tagdrift/tagdrift',
    'org.opencontainers.image.licenses': 'Apache-2.0',
    'org.opencontainers.image.created': created,
  };
  const children = runtimes.map((rt) => {
    const base = join(OUT, 'stage', `runtime-${rt.arch}`);
    mkdirSync(base, { recursive: true });
    const sbom = stageRuntime(base, rt, created);
    writeFileSync(join(OUT, rt === host ? 'sbom.cdx.json' : `sbom-${rt.arch}.cdx.json`), sbom);
    const layers = [layer(base, epoch), appLayer];
    const config = Buffer.from(JSON.stringify({
      created,
      architecture: rt.arch,
      os: 'linux',
      config: {
        User: IMAGE_CONFIG.user,
        WorkingDir: IMAGE_CONFIG.workingDir,
        Entrypoint: IMAGE_CONFIG.entrypoint,
        Cmd: IMAGE_CONFIG.cmd,
        Env: Object.entries(IMAGE_CONFIG.env).map(([k, v]) => `${k}=${v}`),
        ExposedPorts: Object.fromEntries(IMAGE_CONFIG.exposedPorts.map((p) => [p, {}])),
        Labels: labels,
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: [{ created, created_by: 'scripts/build-image.ts: runtime (node, shared libraries, CA certificates, passwd)' }, { created, created_by: 'scripts/build-image.ts: app (/app)' }],
    }));
    const layerDescs = layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blob(l.gz), size: l.gz.length }));
    const configDigest = blob(config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layerDescs,
      annotations: labels,
    }));
    const manifestDigest = blob(manifest);
    return {
      rt, base, layers, layerDescs, configDigest, manifestDigest, manifestSize: manifest.length,
      compressedBytes: layerDescs.reduce((n, l) => n + l.size, 0) + config.length + manifest.length,
    };
  });
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: children.map((c) => ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: c.manifestDigest, size: c.manifestSize, platform: { architecture: c.rt.arch, os: 'linux' } })),
    annotations: labels,
  }));
  const indexDigest = blob(index);
  writeFileSync(join(OUT, 'oci', 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(OUT, 'oci', 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: index.length, annotations: { 'org.opencontainers.image.ref.name': pkg.version } }],
  }));
  const mine = children[0]!;
  const built: BuiltImage = {
    layout: join(OUT, 'oci'),
    tag: pkg.version,
    indexDigest,
    manifestDigest: mine.manifestDigest,
    configDigest: mine.configDigest,
    compressedBytes: mine.compressedBytes,
    uncompressedBytes: sizeOf(mine.base) + sizeOf(app),
    layers: mine.layers.map((l, i) => ({ digest: mine.layerDescs[i]!.digest, size: mine.layerDescs[i]!.size, diffId: l.diffId, bytes: sizeOf(i === 0 ? mine.base : app) })),
    platforms: children.map((c) => ({ platform: `linux/${c.rt.arch}`, manifestDigest: c.manifestDigest, compressedBytes: c.compressedBytes, runtimeLayer: c.base })),
  };
  writeFileSync(join(OUT, 'image.json'), `${JSON.stringify(built, null, 2)}\n`);
  return built;
}

function sizeOf(dir: string): number {
  return Number(sh('du', ['-sb', dir]).split('\t')[0]);
}

if (process.argv[1]?.endsWith('build-image.ts')) {
  const built = buildImage();
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  console.log(`image ${built.layout}:${built.tag}  index ${built.indexDigest}`);
  for (const p of built.platforms) console.log(`  ${p.platform} manifest ${p.manifestDigest}, ${(p.compressedBytes / 1024 / 1024).toFixed(1)} MiB compressed`);
  console.log(`size: ${mib(built.compressedBytes)} compressed (budget ${mib(IMAGE_BUDGET_BYTES)}), ${mib(built.uncompressedBytes)} unpacked`);
  for (const [i, l] of built.layers.entries()) console.log(`  layer ${i + 1} ${i === 0 ? 'runtime' : 'app    '} ${mib(l.size)} compressed, ${mib(l.bytes)} unpacked`);
  if (built.platforms.some((p) => p.compressedBytes > IMAGE_BUDGET_BYTES)) {
    console.error('image is over its size budget');
    process.exitCode = 1;
  }
}
