/** The agent's HTTP app with a realistic report (5,000 images, findings), alone in a process pinned to one core. */
import { analyze } from '../src/report/analyze.js';
import { Metrics } from '../src/metrics/metrics.js';
import { buildApp } from '../src/server/app.js';
import type { NodeSnapshot } from '../src/domain/snapshot.js';
import { syntheticNode } from './fixtures.js';

const node = syntheticNode(5_000, 500);
const snapshot: NodeSnapshot = {
  schemaVersion: 1,
  node: 'bench-node',
  collectedAt: new Date().toISOString(),
  runtime: { ok: true, value: { name: 'containerd', version: '1.7.20', apiVersion: 'v1' }, durationMs: 1 },
  images: { ok: true, value: node.images.map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size, pinned: false })), durationMs: 1 },
  containers: {
    ok: true,
    durationMs: 1,
    value: node.containers.map((c) => ({
      id: c.id, podSandboxId: c.podSandboxId, name: c.name, attempt: 0, state: 'running' as const, createdAt: undefined,
      imageSpec: c.imageId, userSpecifiedImage: undefined, imageRef: c.imageId, imageId: undefined,
      podName: c.pod.name, podNamespace: c.pod.namespace, podUid: c.pod.uid,
    })),
  },
  pods: { ok: true, value: node.pods, durationMs: 1 },
  imageMeta: {},
};
const report = analyze(snapshot);
const metrics = new Metrics({ version: 'bench' });
metrics.updateFromScan(report, 100, true);
const app = await buildApp({ agent: { report, ready: () => ({ ready: true, reason: 'ok' }), live: () => ({ live: true, reason: 'ok' }), status: {} }, metrics, version: 'bench' });
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address() as { port: number };
process.send?.({ port: addr.port, findings: report.findings.length });
