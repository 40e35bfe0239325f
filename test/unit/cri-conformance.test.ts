/**
 * The runtime conformance suite against the CRI fake emulating each containerd release the
 * fact sheet describes (the same suite runs against the real 1.6.20 in the integration tier).
 */
import { createCriClient } from '../../src/adapters/cri/client.js';
import { runtimeClientConformance } from '../conformance/runtime-client.js';
import { EMULATED_RELEASES, FakeCri, fakeDigest } from '../fakes/fake-cri.js';

for (const release of EMULATED_RELEASES) {
  runtimeClientConformance(`fake CRI server emulating containerd ${release}`, async () => {
    const imageId = fakeDigest('config-web-1');
    const manifest = fakeDigest('manifest-web-1');
    const fake = await new FakeCri()
      .emulate(release)
      .withImages({
        id: imageId,
        repoTags: ['registry.example:5000/shop/web:1.0'],
        repoDigests: [`registry.example:5000/shop/web@${manifest}`],
        size: 1234,
        labels: { 'org.opencontainers.image.version': '1.0.0', 'com.example.secret': 'x' },
        env: ['PASSWORD=canary-env-secret'],
      })
      .withContainers({
        id: 'c1',
        podSandboxId: 's1',
        name: 'web',
        imageId,
        userSpecifiedImage: 'registry.example:5000/shop/web:1.0',
        state: 'CONTAINER_RUNNING',
        pod: { name: 'web-1', namespace: 'shop', uid: 'u1' },
      })
      .start();
    const client = createCriClient({ endpoint: fake.endpoint, timeoutMs: 2000 });
    return {
      client,
      tagRef: 'registry.example:5000/shop/web:1.0',
      manifestDigest: manifest,
      imageId,
      version: '1.0.0',
      container: { id: 'c1', name: 'web', podName: 'web-1', podNamespace: 'shop', userSpecifiedImage: 'registry.example:5000/shop/web:1.0' },
      teardown: async () => {
        client.close();
        await fake.stop();
      },
    };
  });
}
