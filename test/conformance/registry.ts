/**
 * Registry conformance: the same expectations against the fake registry (unit tier)
 * and a real distribution registry (integration tier), so the fake cannot drift.
 * `target()` gives a registry base URL into which the suite pushes through the API.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { RegistryClient } from '../../src/adapters/registry/client.js';
import { makeAttestation, makeImage, makeIndex, pushBlob, pushImage, pushManifest } from '../helpers/oci.js';

export function registryConformance(name: string, target: () => { url: string; host: string }): void {
  describe(`registry conformance: ${name}`, () => {
    let client: RegistryClient;
    const requests: string[] = [];
    beforeAll(() => {
      client = new RegistryClient({ onRequest: (_h, method, code) => requests.push(`${method} ${code}`) });
    });
    afterAll(() => client.close());

    it('a tag resolves with one HEAD to the digest of the manifest pushed under it', async () => {
      const { url, host } = target();
      const img = makeImage({ version: '1.0.0', revision: 'aaa' });
      await pushImage(url, 'conf/app', '1.0', img);
      requests.length = 0;
      const r = await client.resolveTag({ url }, host, 'conf/app', '1.0');
      expect(r).toMatchObject({ ok: true, digest: img.manifest.digest });
      expect(requests).toEqual(['HEAD 200']);
    });

    it('a re-pushed tag answers the new digest once the cache has expired', async () => {
      const { url, host } = target();
      const fresh = new RegistryClient({ cacheTtlMs: 0 });
      const a = makeImage({ version: '2.0.0' });
      const b = makeImage({ version: '2.0.1' });
      await pushImage(url, 'conf/moving', 'prod', a);
      expect(await fresh.resolveTag({ url }, host, 'conf/moving', 'prod')).toMatchObject({ ok: true, digest: a.manifest.digest });
      await pushImage(url, 'conf/moving', 'prod', b);
      expect(await fresh.resolveTag({ url }, host, 'conf/moving', 'prod')).toMatchObject({ ok: true, digest: b.manifest.digest });
      fresh.close();
    });

    it('an unknown tag is not-found, never a digest', async () => {
      const { url, host } = target();
      const r = await client.resolveTag({ url }, host, 'conf/app', 'no-such-tag');
      expect(r).toMatchObject({ ok: false, kind: 'not-found' });
    });

    it('a multi-arch tag resolves to the index digest (not rewritten to one platform), and the index lists its children as pushed', async () => {
      const { url, host } = target();
      const amd = makeImage({ version: '3.0.0' }, 'amd64');
      const arm = makeImage({ version: '3.0.0' }, 'arm64');
      for (const i of [amd, arm]) {
        for (const b of i.blobs) await pushBlob(url, 'conf/multi', b);
        await pushManifest(url, 'conf/multi', i.manifest.digest, i.manifest);
      }
      const index = makeIndex([{ image: amd, arch: 'amd64' }, { image: arm, arch: 'arm64' }]);
      await pushManifest(url, 'conf/multi', '3.0', index);
      const r = await client.resolveTag({ url }, host, 'conf/multi', '3.0');
      expect(r).toMatchObject({ ok: true, digest: index.digest, mediaType: 'application/vnd.oci.image.index.v1+json' });
      const served = await fetch(`${url}/v2/conf/multi/manifests/${index.digest}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
      const doc = (await served.json()) as { manifests: { digest: string }[] };
      expect(doc.manifests.map((m) => m.digest)).toEqual([amd.manifest.digest, arm.manifest.digest]);
    });

    it("the node platform's image of an index: the child containerd picks (attestations never match) and its config digest", async () => {
      const { url, host } = target();
      const amd = makeImage({ version: '5.0.0' }, 'amd64');
      const arm = makeImage({ version: '5.0.0' }, 'arm64');
      const att = makeAttestation(amd.manifest.digest, 'build-1');
      for (const i of [amd, arm, att]) {
        for (const b of i.blobs) await pushBlob(url, 'conf/plat', b);
        await pushManifest(url, 'conf/plat', i.manifest.digest, i.manifest);
      }
      // The attestation entry comes first: a matcher that ignored platforms would pick it.
      const index = makeIndex([{ image: att, arch: 'unknown', os: 'unknown', attests: amd.manifest.digest }, { image: amd, arch: 'amd64' }, { image: arm, arch: 'arm64', variant: 'v8' }]);
      await pushManifest(url, 'conf/plat', '5', index);
      const configOf = (i: typeof amd) => i.blobs[0]!.digest;
      for (const [platform, image] of [[{ os: 'linux', architecture: 'amd64' }, amd], [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, arm]] as const) {
        const c = new RegistryClient({ platform });
        const got = await c.platformImage({ url }, host, 'conf/plat', index.digest);
        expect(got).toEqual({ ok: true, image: { platform: `linux/${platform.architecture}${'variant' in platform ? '/v8' : ''}`, manifest: image.manifest.digest, config: configOf(image) } });
        c.close();
      }
      const s390 = new RegistryClient({ platform: { os: 'linux', architecture: 's390x' } });
      expect(await s390.platformImage({ url }, host, 'conf/plat', index.digest)).toEqual({ ok: false, reason: 'the index lists no linux/s390x image' });
      s390.close();
      // A single-platform manifest is its own platform image.
      expect(await client.platformImage({ url }, host, 'conf/plat', amd.manifest.digest)).toMatchObject({ ok: true, image: { manifest: amd.manifest.digest, config: configOf(amd) } });
    });

    it('build metadata comes from the config blob of the platform image', async () => {
      const { url, host } = target();
      const img = makeImage({ version: '4.2.0', revision: 'cafe01', created: '2026-03-01T10:00:00Z' });
      await pushImage(url, 'conf/meta', '4', img);
      expect(await client.buildMeta({ url }, host, 'conf/meta', img.manifest.digest)).toEqual({ version: '4.2.0', revision: 'cafe01', created: '2026-03-01T10:00:00Z' });
    });
  });
}
