/**
 * `npm run krew`: the kubectl plugin as krew installs it. Writes
 * .tools/krew/kubectl-tagdrift-<version>.tar.gz (the compiled CLI, production dependencies,
 * and a `kubectl-tagdrift` launcher that runs it on the node found on PATH) and
 * .tools/krew/tagdrift.yaml, the krew Plugin manifest with that archive's sha256 and the
 * release URL it is published under. Install locally with
 *   kubectl krew install --manifest=.tools/krew/tagdrift.yaml --archive=.tools/krew/kubectl-tagdrift-<version>.tar.gz
 * or submit the manifest to krew-index after uploading the archive to the release.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT = join(ROOT, '.tools', 'krew');
export const RELEASE_URL = (version: string) => `https://github.com/tagdrift/tagdrift/releases/download/v${version}/kubectl-tagdrift-${version}.tar.gz`;

const LAUNCHER = `#!/bin/sh
# kubectl-tagdrift: runs tagdrift's cluster command on the Node.js found on PATH (26 or later).
here=$(dirname "$(readlink -f "$0")")
exec node "$here/dist/src/cli/kubectl-tagdrift.js" "$@"
`;

export function buildKrew(): { archive: string; manifest: string; sha256: string; version: string } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; description: string; engines: { node: string } };
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'kubectl-tagdrift.js'))) throw new Error('dist/src missing: npm run build first');
  rmSync(OUT, { recursive: true, force: true });
  const stage = join(OUT, 'stage');
  mkdirSync(stage, { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'LICENSE']) if (existsSync(join(ROOT, f))) copyFileSync(join(ROOT, f), join(stage, f));
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: stage, stdio: 'inherit' });
  rmSync(join(stage, 'package-lock.json'));
  rmSync(join(stage, 'node_modules', '.package-lock.json'), { force: true });
  cpSync(join(ROOT, 'dist', 'src'), join(stage, 'dist', 'src'), { recursive: true, filter: (p) => !p.endsWith('.map') });
  cpSync(join(ROOT, 'protos'), join(stage, 'protos'), { recursive: true });
  writeFileSync(join(stage, 'kubectl-tagdrift'), LAUNCHER);
  chmodSync(join(stage, 'kubectl-tagdrift'), 0o755);
  const epoch = execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim() || '0';
  const archive = join(OUT, `kubectl-tagdrift-${pkg.version}.tar.gz`);
  const tar = execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '-C', stage, '-cf', '-', '.'], { maxBuffer: 512 * 1024 * 1024 });
  const gz = execFileSync('gzip', ['-n', '-9'], { input: tar, maxBuffer: 512 * 1024 * 1024 });
  writeFileSync(archive, gz);
  const sha256 = createHash('sha256').update(gz).digest('hex');
  const manifest = {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'tagdrift' },
    spec: {
      version: `v${pkg.version}`,
      homepage: 'https://github.com/tagdrift/tagdrift',
      shortDescription: 'Show pods running images their tag left behind',
      description: `${pkg.description}.\nkubectl tagdrift merges the reports of the tagdrift agents (a DaemonSet) on every node:\ncontainers running stale or superseded digests, stale mirrors and caches, and the same tag\nrunning different digests on different nodes.\n`,
      caveats: `This plugin runs on Node.js ${pkg.engines.node.replace('>=', '')} or later (node on PATH), and reads the\ntagdrift agents installed from https://github.com/tagdrift/tagdrift (deploy/).\n`,
      platforms: ['linux', 'darwin'].map((os) => ({
        selector: { matchLabels: { os } },
        uri: RELEASE_URL(pkg.version),
        sha256,
        bin: 'kubectl-tagdrift',
      })),
    },
  };
  const manifestPath = join(OUT, 'tagdrift.yaml');
  writeFileSync(manifestPath, yaml.dump(manifest, { lineWidth: 100 }));
  rmSync(stage, { recursive: true, force: true });
  return { archive, manifest: manifestPath, sha256, version: pkg.version };
}

if (process.argv[1]?.endsWith('build-krew.ts')) {
  const r = buildKrew();
  console.log(`krew archive ${r.archive}\n  sha256 ${r.sha256}\nmanifest ${r.manifest}`);
}
