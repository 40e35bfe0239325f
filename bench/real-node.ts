/**
 * Scan cost on a real node vs the raw CRI calls it needs: a test-bed containerd with
 * ~1,000 images and 200 containers. Raw = Version + ListImages + ListContainers on
 * the same read-only client; scan = the whole collect + analysis (config files read,
 * no pod API, no registries: those are separate costs measured elsewhere).
 */
import { createHash } from 'node:crypto';
import { createCriClient } from '../src/adapters/cri/client.js';
import { createHostFiles } from '../src/adapters/node-files/host-files.js';
import { scanNode } from '../src/scan/scan.js';
import { SourceFailure } from '../src/domain/ports.js';
import { DEFAULT_MUTABLE_TAG_PATTERNS } from '../src/domain/mutable-tags.js';
import { TestBed } from '../testbed/bed.js';
import { median, percentile } from './fixtures.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function push(url: string, repo: string, ref: string, body: Buffer, type: string): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', headers: { 'content-type': type }, body });
  if (res.status !== 201) throw new Error(`manifest ${repo}:${ref}: ${res.status}`);
}

async function blob(url: string, repo: string, b: Buffer): Promise<string> {
  const d = sha(b);
  const start = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const loc = new URL(start.headers.get('location')!, url);
  loc.searchParams.set('digest', d);
  const put = await fetch(loc, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: b });
  if (put.status !== 201) throw new Error(`blob ${repo}: ${put.status}`);
  return d;
}

/** `count` distinct images (own config each, one shared empty layer) in `repos` repositories. */
async function seedImages(url: string, count: number, repos: number): Promise<string[]> {
  const layer = Buffer.alloc(1024); // an empty tar archive
  const refs: string[] = [];
  for (let r = 0; r < repos; r++) {
    const repo = `bulk/r${r}`;
    const layerDigest = await blob(url, repo, layer);
    const per = Math.ceil(count / repos);
    await Promise.all(
      Array.from({ length: per }, async (_, i) => {
        const n = r * per + i;
        if (n >= count) return;
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { 'org.opencontainers.image.version': `v${n}` } }, rootfs: { type: 'layers', diff_ids: [sha(layer)] } }));
        const configDigest = await blob(url, repo, config);
        const manifest = Buffer.from(JSON.stringify({
          schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
        }));
        await push(url, repo, `t${i}`, manifest, 'application/vnd.oci.image.manifest.v1+json');
        refs.push(`${new URL(url).host}/${repo}:t${i}`);
      }),
    );
  }
  return refs;
}

async function pool<T>(items: readonly T[], width: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export async function benchRealNode(images = 1_000, pods = 20, perPod = 10, runs = 60): Promise<Record<string, number | string>> {
  const bed = await TestBed.start({ nodeName: 'bench-node' });
  const started = Date.now();
  try {
    const refs = await seedImages(bed.upstream.url, images - 2, 10);
    await pool(refs, 8, (ref) => bed.kubelet.pull(ref));
    const app = await bed.publish('bench/app', '1.0', { version: '1.0.0' });
    for (let p = 0; p < pods; p++) {
      await bed.kubelet.runPod({
        namespace: `ns${p % 5}`, name: `pod-${p}`,
        containers: Array.from({ length: perPod }, (_, c) => ({ name: `c${c}`, image: app.ref, imagePullPolicy: 'IfNotPresent' as const })),
      });
    }
    const setupS = Math.round((Date.now() - started) / 1000);
    const runtime = createCriClient({ endpoint: bed.containerd.endpoint, timeoutMs: 30_000 });
    const hostFiles = createHostFiles('/');
    const deps = { runtime, pods: new SourceFailure('not-configured', 'bench'), now: () => new Date(), hostFiles };
    const opts = { nodeName: 'bench-node', containerdConfig: bed.containerd.configPath };
    try {
      const raw: number[] = [];
      const scan: number[] = [];
      let report;
      for (let i = 0; i < runs + 3; i++) {
        // Interleaved, so both see the same state of the machine.
        let t = performance.now();
        await Promise.all([runtime.version(), runtime.listImages(), runtime.listContainers()]);
        if (i >= 3) raw.push(performance.now() - t);
        t = performance.now();
        report = (await scanNode(deps, opts, { mutableTagPatterns: DEFAULT_MUTABLE_TAG_PATTERNS })).report;
        if (i >= 3) scan.push(performance.now() - t);
      }
      return {
        'images on the node': report!.images.length,
        'containers on the node': report!.containers.length,
        'setup s (push, pull, start)': setupS,
        'raw CRI calls median ms': median(raw).toFixed(1),
        'raw CRI calls p95 ms': percentile(raw, 95).toFixed(1),
        'scan median ms': median(scan).toFixed(1),
        'scan p95 ms': percentile(scan, 95).toFixed(1),
        'ratio scan / raw (medians)': (median(scan) / median(raw)).toFixed(2),
      };
    } finally {
      runtime.close();
    }
  } finally {
    await bed.stop();
  }
}
