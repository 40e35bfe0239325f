/**
 * The image is byte-reproducible and its SBOM covers what is in it: two daemonless builds of
 * the same commit give the same manifest digest (timestamps from the commit, no random serial),
 * and the SBOM names the Node.js binary, the Debian package of every shared library the binary
 * loads (as dpkg says, with its installed version) and the CA bundle, each with its SHA-256.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImage, sharedLibraries } from '../../scripts/build-image.js';
import { elfNeeds } from '../../scripts/foreign-runtime.js';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('the image build', () => {
  it('two builds of one commit are the same bytes; the SBOM lists every file source in the image', () => {
    const first = buildImage();
    const sbomFirst = readFileSync(join(ROOT, '.tools', 'image', 'sbom.cdx.json'), 'utf8');
    const second = buildImage();
    expect(second.indexDigest).toBe(first.indexDigest);
    expect(second.platforms).toEqual(first.platforms);
    expect(second.manifestDigest).toBe(first.manifestDigest);
    expect(second.layers.map((l) => l.digest)).toEqual(first.layers.map((l) => l.digest));
    const sbom = JSON.parse(readFileSync(join(ROOT, '.tools', 'image', 'sbom.cdx.json'), 'utf8')) as {
      serialNumber: string; metadata: { timestamp: string }; components: { type: string; name: string; version?: string; purl?: string; hashes?: { content: string }[]; properties?: { name: string; value: string }[] }[];
    };
    expect(JSON.stringify(sbom, null, 2) + '\n').toBe(sbomFirst);
    const commitTime = Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim());
    expect(Date.parse(sbom.metadata.timestamp) / 1000).toBe(commitTime);

    const version = readFileSync(join(ROOT, '.node-version'), 'utf8').trim();
    const node = sbom.components.find((c) => c.name === 'node')!;
    expect(node).toMatchObject({ type: 'application', version });
    const binary = process.env['TAGDRIFT_NODE']!;
    expect(node.hashes![0]!.content).toBe(createHash('sha256').update(readFileSync(binary)).digest('hex'));
    // Every library the binary loads is in a listed Debian package at the installed version.
    const listedPaths = new Set(sbom.components.flatMap((c) => (c.properties ?? []).filter((p) => p.name === 'tagdrift:path').map((p) => p.value)));
    for (const lib of sharedLibraries(binary)) {
      expect(listedPaths.has(lib), lib).toBe(true);
      const owner = sbom.components.find((c) => c.properties?.some((p) => p.name === 'tagdrift:path' && p.value === lib))!;
      expect(owner.purl, lib).toMatch(/^pkg:deb\/debian\//);
      const installed = execFileSync('dpkg-query', ['-W', '-f', '${Version}', `${owner.name}:${process.arch === 'arm64' ? 'arm64' : 'amd64'}`], { encoding: 'utf8' }).trim();
      expect(owner.version, lib).toBe(installed);
    }
    expect(sbom.components.find((c) => c.name === 'ca-certificates.crt')).toMatchObject({ type: 'data', purl: expect.stringMatching(/^pkg:deb\/debian\/ca-certificates@/) });
    // The npm packages are still there.
    expect(sbom.components.some((c) => c.purl?.startsWith('pkg:npm/fastify@'))).toBe(true);
  }, 300_000);

  it('is an index of linux/amd64 and linux/arm64; the arm64 child is an AArch64 Node.js with every library and its loader in the image', () => {
    const built = JSON.parse(readFileSync(join(ROOT, '.tools', 'image', 'image.json'), 'utf8')) as ReturnType<typeof buildImage>;
    const index = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', `oci:${built.layout}:${built.tag}`], { encoding: 'utf8' })) as { mediaType: string; manifests: { digest: string; platform: { architecture: string; os: string } }[] };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => `${m.platform.os}/${m.platform.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    const arm = built.platforms.find((p) => p.platform === 'linux/arm64')!;
    expect(index.manifests.find((m) => m.platform.architecture === 'arm64')!.digest).toBe(arm.manifestDigest);
    const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', '--raw', '--override-arch', 'arm64', `oci:${built.layout}:${built.tag}`], { encoding: 'utf8' })) as { architecture: string };
    expect(config.architecture).toBe('arm64');
    const node = join(arm.runtimeLayer, 'usr/local/bin/node');
    const elf = elfNeeds(node);
    expect(elf.machine).toBe('AArch64');
    for (const lib of elf.needed) expect(existsSync(join(arm.runtimeLayer, 'lib/aarch64-linux-gnu', lib)), lib).toBe(true);
    expect(existsSync(join(arm.runtimeLayer, elf.interpreter!)), elf.interpreter).toBe(true);
    // Each library it carries is itself AArch64 code.
    for (const lib of elf.needed) expect(elfNeeds(join(arm.runtimeLayer, 'lib/aarch64-linux-gnu', lib)).machine, lib).toBe('AArch64');
    const sbom = JSON.parse(readFileSync(join(ROOT, '.tools', 'image', 'sbom-arm64.cdx.json'), 'utf8')) as { components: { name: string; purl?: string }[] };
    for (const name of ['libc6', 'libstdc++6', 'libgcc-s1', 'libatomic1']) {
      expect(sbom.components.find((c) => c.name === name)?.purl, name).toMatch(/^pkg:deb\/debian\/.+\?arch=arm64$/);
    }
  });
});
