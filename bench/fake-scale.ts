/**
 * Scan + analysis at 10,000 images / 2,000 containers on the fake CRI (responses over
 * 4 MiB). Pod intent is given in-process (the API is not what is measured).
 */
import { createCriClient } from '../src/adapters/cri/client.js';
import { scanNode } from '../src/scan/scan.js';
import { analyze } from '../src/report/analyze.js';
import { DEFAULT_MUTABLE_TAG_PATTERNS } from '../src/domain/mutable-tags.js';
import { fork } from 'node:child_process';
import { median, percentile, syntheticNode } from './fixtures.js';

export async function benchFakeScale(images = 10_000, containers = 2_000, runs = 30): Promise<Record<string, number | string>> {
  const node = syntheticNode(images, containers);
  // The fake runs in its own process: its encoding work is not the scan's cost.
  const child = fork(new URL('./fake-cri-server.ts', import.meta.url).pathname, [String(images), String(containers)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoint = await new Promise<string>((resolve) => child.once('message', (m) => resolve(String(m))));
  const runtime = createCriClient({ endpoint, timeoutMs: 30_000 });
  const pods = { listNodePods: async () => node.pods };
  try {
    const times: number[] = [];
    let last;
    for (let i = 0; i < runs + 3; i++) {
      const t = performance.now();
      last = await scanNode({ runtime, pods, now: () => new Date() }, { nodeName: 'bench-node' }, { mutableTagPatterns: DEFAULT_MUTABLE_TAG_PATTERNS });
      if (i >= 3) times.push(performance.now() - t);
    }
    // The same CRI calls alone, and analysis alone on the last snapshot.
    const raw: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await Promise.all([runtime.version(), runtime.listImages(), runtime.listContainers()]);
      raw.push(performance.now() - t);
    }
    const analysis: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      analyze(last!.snapshot, { mutableTagPatterns: DEFAULT_MUTABLE_TAG_PATTERNS });
      analysis.push(performance.now() - t);
    }
    const listImagesBytes = await encodedSize(node.images);
    return {
      images,
      containers,
      'ListImages response (protobuf, MiB)': (listImagesBytes / 1024 / 1024).toFixed(1),
      'scan+analysis median ms': Math.round(median(times)),
      'scan+analysis p95 ms': Math.round(percentile(times, 95)),
      'CRI calls alone median ms (fake server in its own process)': Math.round(median(raw)),
      'analysis alone median ms': Math.round(median(analysis)),
      'runtime ok': String(last!.report.sources.images.ok && last!.report.images.length === images),
      findings: last!.report.findings.length,
    };
  } finally {
    runtime.close();
    child.kill();
  }
}

/** Size of the ListImagesResponse on the wire, encoded with the project's CRI types. */
async function encodedSize(images: readonly { id: string; repoTags: string[]; repoDigests: string[]; size: number }[]): Promise<number> {
  const protobuf = (await import('protobufjs')).default;
  const root = await protobuf.load(new URL('../protos/cri-types.proto', import.meta.url).pathname);
  const T = root.lookupType('runtime.v1.ListImagesResponse');
  const msg = T.fromObject({ images: images.map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size })) });
  return T.encode(msg).finish().length;
}
