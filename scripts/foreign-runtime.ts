/**
 * The runtime of the image's other platform, built without an engine on this machine: the same
 * pinned Node.js release from the npm registry's `node-linux-<arch>` package, and the shared
 * libraries its ELF header names (DT_NEEDED and the program interpreter) taken from that
 * architecture's Debian packages, fetched by name with `apt-get download` through a private apt
 * list and state directory under .tools/ (the machine's own sources are never touched) and
 * unpacked with `dpkg-deb -x`. Cached under .tools/runtime-<arch>/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ImageArch = 'amd64' | 'arm64';
export interface DebPackage { readonly name: string; readonly version: string; readonly arch: string }
export interface Runtime {
  readonly arch: ImageArch;
  /** The node binary on this machine. */
  readonly node: string;
  /** Each library: the file on this machine, the path in the image, and its Debian package when known from the .deb. */
  readonly libraries: readonly { readonly file: string; readonly path: string; readonly pkg?: DebPackage }[];
}

const TRIPLET: Record<ImageArch, string> = { amd64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const NPM_ARCH: Record<ImageArch, string> = { amd64: 'x64', arm64: 'arm64' };
/** The Debian packages that ship what Node.js's binary loads (glibc, the GCC runtime libraries). */
const PACKAGES = ['libc6', 'libstdc++6', 'libgcc-s1', 'libatomic1'];
const MIRROR = process.env['TAGDRIFT_DEBIAN_MIRROR'] ?? 'http://deb.debian.org/debian';
const SECURITY = process.env['TAGDRIFT_DEBIAN_SECURITY'] ?? 'http://deb.debian.org/debian-security';

const run = (cmd: string, args: string[], cwd?: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });

/** DT_NEEDED names and the program interpreter of an ELF file (readelf, any architecture). */
export function elfNeeds(binary: string): { machine: string; needed: string[]; interpreter: string | undefined } {
  const machine = /Machine:\s+(.+)/.exec(run('readelf', ['-h', binary]))?.[1]?.trim() ?? '';
  const needed = [...run('readelf', ['-d', binary]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]!);
  const interpreter = /Requesting program interpreter: ([^\]]+)\]/.exec(run('readelf', ['-l', binary]))?.[1];
  return { machine, needed, interpreter };
}

export function foreignRuntime(root: string, arch: ImageArch, nodeVersion: string): Runtime {
  const dir = join(root, '.tools', `runtime-${arch}-${nodeVersion}`);
  const node = join(dir, 'node', 'package', 'bin', 'node');
  const sysroot = join(dir, 'sysroot');
  const debs = join(dir, 'debs');
  if (!existsSync(node)) {
    mkdirSync(join(dir, 'node'), { recursive: true });
    run('npm', ['pack', '--silent', `node-linux-${NPM_ARCH[arch]}@${nodeVersion}`], join(dir, 'node'));
    run('tar', ['-xzf', `node-linux-${NPM_ARCH[arch]}-${nodeVersion}.tgz`, 'package/bin/node', 'package/LICENSE'], join(dir, 'node'));
  }
  if (!existsSync(join(dir, 'fetched'))) {
    rmSync(debs, { recursive: true, force: true });
    rmSync(sysroot, { recursive: true, force: true });
    const apt = join(dir, 'apt');
    for (const d of ['lists/partial', 'cache/archives/partial']) mkdirSync(join(apt, d), { recursive: true });
    mkdirSync(debs, { recursive: true });
    const key = '/usr/share/keyrings/debian-archive-keyring.gpg';
    writeFileSync(join(apt, 'sources.list'), [
      `deb [arch=${arch} signed-by=${key}] ${MIRROR} bookworm main`,
      `deb [arch=${arch} signed-by=${key}] ${SECURITY} bookworm-security main`,
      '',
    ].join('\n'));
    const opts = [
      '-o', `Dir::Etc::SourceList=${join(apt, 'sources.list')}`, '-o', 'Dir::Etc::SourceParts=-',
      '-o', `Dir::State::Lists=${join(apt, 'lists')}`, '-o', `Dir::Cache=${join(apt, 'cache')}`,
      '-o', `APT::Architecture=${arch}`, '-o', `APT::Architectures::=${arch}`, '-o', 'Debug::NoLocking=1', '-o', 'APT::Sandbox::User=root',
    ];
    run('apt-get', [...opts, '-qq', 'update']);
    run('apt-get', [...opts, '-qq', 'download', ...PACKAGES.map((p) => `${p}:${arch}`)], debs);
    for (const f of readdirSync(debs).filter((f) => f.endsWith('.deb'))) run('dpkg-deb', ['-x', join(debs, f), sysroot]);
    writeFileSync(join(dir, 'fetched'), '');
  }
  const packages = readdirSync(debs).filter((f) => f.endsWith('.deb')).map((f) => {
    const field = (k: string) => run('dpkg-deb', ['-f', join(debs, f), k]).trim();
    const contents = run('dpkg-deb', ['-c', join(debs, f)]).split('\n').map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\./, '').replace(/ -> .*$/, '')).filter(Boolean);
    return { pkg: { name: field('Package'), version: field('Version'), arch: field('Architecture') }, contents };
  });
  const owner = (path: string) => packages.find((p) => p.contents.includes(path))?.pkg;
  const elf = elfNeeds(node);
  const libraries: Runtime['libraries'][number][] = [];
  const libDir = `/lib/${TRIPLET[arch]}`;
  for (const name of elf.needed) {
    const found = [libDir, `/usr${libDir}`].map((d) => `${d}/${name}`).find((p) => existsSync(join(sysroot, p)));
    if (!found) throw new Error(`${arch} node needs ${name}, which ${PACKAGES.join(', ')} (${arch}) do not provide`);
    libraries.push({ file: realpathSync(join(sysroot, found)), path: `${libDir}/${name}`, ...(owner(found) ? { pkg: owner(found)! } : {}) });
  }
  if (elf.interpreter && !libraries.some((l) => l.path === elf.interpreter)) {
    const file = join(sysroot, elf.interpreter);
    if (!existsSync(file)) throw new Error(`${arch} node's interpreter ${elf.interpreter} is not in the ${arch} libc6`);
    libraries.push({ file: realpathSync(file), path: elf.interpreter, ...(owner(elf.interpreter) ? { pkg: owner(elf.interpreter)! } : {}) });
  }
  return { arch, node, libraries };
}
