/**
 * Registry requests per cycle vs unique tags: N containers sharing K tags, several
 * cycles with the cache expired between them; counted at the (fake) registry.
 */
import { baseView } from '../src/report/view.js';
import { analyze } from '../src/report/analyze.js';
import { RegistryClient } from '../src/adapters/registry/client.js';
import { createRegistryLookup } from '../src/adapters/registry/lookup.js';
import { askRegistries } from '../src/scan/scan.js';
import type { NodeSnapshot } from '../src/domain/snapshot.js';
import { FakeRegistry } from '../test/fakes/fake-registry.js';
import { makeImage, pushImage } from '../test/helpers/oci.js';

export async function benchRegistry(containers = 2_000, tags = 150, cycles = 5): Promise<Record<string, number | string>> {
  const reg = await new FakeRegistry().start();
  let now = 0;
  const client = new RegistryClient({ now: () => now, cacheTtlMs: 60_000 });
  try {
    const images: import('../src/domain/snapshot.js').ImageRecord[] = [];
    for (let t = 0; t < tags; t++) {
      const img = makeImage({ version: `v${t}` });
      await pushImage(reg.url, `team/app${t}`, '1.0', img);
      images.push({ id: `sha256:${String(t).padStart(64, '0')}`, repoTags: [`${reg.host}/team/app${t}:1.0`], repoDigests: [`${reg.host}/team/app${t}@${img.manifest.digest}`], size: 1, pinned: false });
    }
    const snapshot: NodeSnapshot = {
      schemaVersion: 1, node: 'n', collectedAt: new Date().toISOString(),
      runtime: { ok: true, value: { name: 'c', version: '1.7.0', apiVersion: 'v1' }, durationMs: 0 },
      images: { ok: true, value: images, durationMs: 0 },
      containers: {
        ok: true, durationMs: 0,
        value: Array.from({ length: containers }, (_, c) => ({
          id: `c${c}`, podSandboxId: `s${c}`, name: 'app', attempt: 0, state: 'running' as const, createdAt: undefined,
          imageSpec: images[c % tags]!.id, userSpecifiedImage: undefined, imageRef: images[c % tags]!.id, imageId: undefined,
          podName: `p${c}`, podNamespace: 'ns', podUid: `u${c}`,
        })),
      },
      pods: {
        ok: true, durationMs: 0,
        value: Array.from({ length: containers }, (_, c) => ({
          namespace: 'ns', name: `p${c}`, uid: `u${c}`, nodeName: 'n', owner: undefined,
          containers: [{ name: 'app', image: images[c % tags]!.repoTags[0]!, imagePullPolicy: 'IfNotPresent' as const, kind: 'container' as const, containerId: `c${c}`, statusImageId: undefined }],
        })),
      },
      imageMeta: {},
    };
    reg.requests.length = 0;
    const perCycle: number[] = [];
    let stale = 0;
    for (let i = 0; i < cycles; i++) {
      const before = reg.manifestRequests('HEAD').length;
      const { answers: truth } = await askRegistries(snapshot, baseView(snapshot), createRegistryLookup(client, undefined));
      perCycle.push(reg.manifestRequests('HEAD').length - before);
      stale = analyze({ ...snapshot, registryTruth: truth }).findings.filter((f) => f.code === 'running-stale').length;
      now += 300_000; // the next cycle comes after the cache TTL
    }
    return {
      containers,
      'unique tags': tags,
      cycles,
      'HEADs per cycle': perCycle.join(', '),
      'ratio HEADs / unique tags': (perCycle.reduce((a, b) => a + b, 0) / cycles / tags).toFixed(2),
      'manifest GETs total': reg.manifestRequests('GET').length,
      'stale findings (expected 0)': stale,
    };
  } finally {
    client.close();
    await reg.stop();
  }
}
