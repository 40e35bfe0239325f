/**
 * One conformance suite for the RuntimeClient port, run against the fake CRI server
 * (unit tier) and against a real containerd on the test bed (integration tier), so
 * the fake cannot drift from what containerd really returns.
 *
 * The world each side sets up: one image pulled as `name:tag` with build labels, and
 * one running container created the kubelet way (from the image ID, with the
 * io.kubernetes.* labels).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeClient } from '../../src/domain/ports.js';
import { parseRepoDigest, tryParseImageRef } from '../../src/domain/image-ref.js';

export interface RuntimeWorld {
  readonly client: RuntimeClient;
  /** Normalised `name:tag` the image was pulled as. */
  readonly tagRef: string;
  readonly manifestDigest: string;
  readonly imageId: string;
  readonly version: string;
  /** `userSpecifiedImage`: the pod's image string kubelet passed at CreateContainer. */
  readonly container: { id: string; name: string; podName: string; podNamespace: string; userSpecifiedImage: string };
  readonly teardown: () => Promise<void>;
}

export function runtimeClientConformance(label: string, setup: () => Promise<RuntimeWorld>): void {
  describe(`RuntimeClient conformance: ${label}`, () => {
    let w: RuntimeWorld;
    beforeAll(async () => {
      w = await setup();
    });
    afterAll(async () => {
      await w?.teardown();
    });

    it('reports a runtime that speaks CRI v1', async () => {
      const v = await w.client.version();
      expect(v.apiVersion).toBe('v1');
      expect(v.name.length).toBeGreaterThan(0);
      expect(v.version.length).toBeGreaterThan(0);
    });

    it('lists the image by ID with its tag and repo digest', async () => {
      const images = await w.client.listImages();
      const image = images.find((i) => i.id === w.imageId);
      expect(image, `image ${w.imageId} in ${JSON.stringify(images.map((i) => i.id))}`).toBeDefined();
      expect(image!.id).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(image!.repoTags).toContain(w.tagRef);
      const name = tryParseImageRef(w.tagRef)!;
      const digests = image!.repoDigests.map(parseRepoDigest);
      expect(digests).toContainEqual({ name: `${name.registry}/${name.repository}`, digest: w.manifestDigest });
      expect(image!.size).toBeGreaterThan(0);
    });

    it('lists the running container as kubelet created it: image ID, not the tag', async () => {
      const containers = await w.client.listContainers();
      const c = containers.find((x) => x.id === w.container.id);
      expect(c).toBeDefined();
      expect(c!.state).toBe('running');
      expect(c!.name).toBe(w.container.name);
      expect(c!.imageSpec).toBe(w.imageId);
      expect([c!.imageRef, c!.imageId]).toContain(w.imageId);
      expect(c!.podName).toBe(w.container.podName);
      expect(c!.podNamespace).toBe(w.container.podNamespace);
      expect(c!.podUid).toMatch(/.+/);
      expect(c!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    });

    it("returns the pod's image string and the image ID only from the containerd releases that have them (1.7.24, 2.3)", async () => {
      const v = await w.client.version();
      const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.version);
      const [major, minor, patch] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
      const atLeast = (a: number, b: number, c = 0) => (major !== a ? major > a : minor !== b ? minor > b : patch >= c);
      const c = (await w.client.listContainers()).find((x) => x.id === w.container.id)!;
      expect(c.userSpecifiedImage, `user_specified_image on containerd ${v.version}`).toBe(atLeast(1, 7, 24) ? w.container.userSpecifiedImage : undefined);
      expect(c.imageId, `image_id on containerd ${v.version}`).toBe(atLeast(2, 3) ? w.imageId : undefined);
    });

    it('reads build metadata from the image config and nothing else', async () => {
      const meta = await w.client.imageBuildMeta(w.imageId);
      expect(meta?.version).toBe(w.version);
      expect(Object.keys(meta ?? {}).every((k) => ['version', 'revision', 'created', 'source'].includes(k))).toBe(true);
    });

    it('answers undefined build metadata for an unknown image', async () => {
      expect(await w.client.imageBuildMeta(`sha256:${'0'.repeat(64)}`)).toBeUndefined();
    });
  });
}
