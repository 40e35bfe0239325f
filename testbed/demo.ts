/**
 * The demo: the re-pushed-tag incident on a throwaway real node.
 *
 * 1. CI pushes shop/web:1.0 (v1.0.0); the Deployment's pod starts it (IfNotPresent).
 *    shop/api runs :latest with IfNotPresent; shop/worker is pinned by digest.
 * 2. CI rebuilds and pushes a fix under the same tag 1.0 (v1.0.1).
 * 3. A pod with pullPolicy Always (a canary) re-pulls 1.0 on the node: the tag now
 *    means the fix here, but the Deployment's pod still runs the old build.
 * 4. CI re-pushes shop/api:latest too; nothing re-pulls it, so the node cannot
 *    even restart into the new build (running-stale).
 * 5. `tagdrift scan` is run against the node and its output printed.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestBed } from './bed.js';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
const step = (s: string) => process.stdout.write(`\n\x1b[1m== ${s}\x1b[0m\n`);

step('starting a throwaway node: containerd + registry + Kubernetes API (loopback, temp dir)');
const bed = await TestBed.start({ nodeName: 'demo-node' });
let code = 0;
try {
  const rt = await bed.kubelet.version();
  process.stdout.write(`containerd ${rt.runtimeVersion}, CRI ${rt.runtimeApiVersion}, registry ${bed.upstream.url}\n`);

  step('CI pushes shop/web:1.0 (v1.0.0), shop/api:latest, shop/worker:2.3; pods start');
  const v1 = await bed.publish('shop/web', '1.0', { version: '1.0.0', revision: 'a1b2c3d', created: '2026-10-08T09:00:00Z' });
  const api = await bed.publish('shop/api', 'latest', { version: '4.2.0', revision: 'e4f5a6b' });
  const worker = await bed.publish('shop/worker', '2.3', { version: '2.3.0', revision: 'c7d8e9f' });
  await bed.kubelet.runPod({
    namespace: 'shop', name: 'web-7d9c6b5f4-x5p6z', owner: { kind: 'ReplicaSet', name: 'web-7d9c6b5f4', templateHash: '7d9c6b5f4' },
    containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'IfNotPresent' }],
  });
  await bed.kubelet.runPod({
    namespace: 'shop', name: 'api-5f6d8c7b9-k2m4n', owner: { kind: 'ReplicaSet', name: 'api-5f6d8c7b9', templateHash: '5f6d8c7b9' },
    containers: [{ name: 'api', image: api.ref, imagePullPolicy: 'IfNotPresent' }],
  });
  await bed.kubelet.runPod({
    namespace: 'shop', name: 'worker-0', owner: { kind: 'StatefulSet', name: 'worker' },
    containers: [{ name: 'worker', image: `${bed.upstream.host}/shop/worker@${worker.manifestDigest}`, imagePullPolicy: 'IfNotPresent' }],
  });
  process.stdout.write(`shop/web:1.0 = ${v1.manifestDigest} (v1.0.0)\n`);

  step('CI re-pushes a fix under the same tag shop/web:1.0 (v1.0.1)');
  const v2 = await bed.publish('shop/web', '1.0', { version: '1.0.1', revision: 'f00dfee', created: '2026-11-19T14:30:00Z' });
  process.stdout.write(`shop/web:1.0 = ${v2.manifestDigest} (v1.0.1) in the registry\n`);

  step('CI also re-pushes shop/api:latest (v4.2.1); nothing on this node pulls it');
  const api2 = await bed.publish('shop/api', 'latest', { version: '4.2.1', revision: 'b7c8d9e' });
  process.stdout.write(`shop/api:latest = ${api2.manifestDigest} (v4.2.1) in the registry\n`);

  step('a canary pod with imagePullPolicy: Always re-pulls shop/web:1.0 on this node');
  await bed.kubelet.runPod({
    namespace: 'shop', name: 'web-canary', containers: [{ name: 'web', image: v2.ref, imagePullPolicy: 'Always' }],
  });

  step(`tagdrift scan ${bed.scanArgs().join(' ')} --output table`);
  // Asynchronous on purpose: the fake Kubernetes API is served from this process.
  const child = spawn(process.execPath, [cli, 'scan', ...bed.scanArgs(), '--output', 'table'], { stdio: 'inherit' });
  code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  process.stdout.write(`\n(tagdrift scan exited ${code})\n`);
} finally {
  step('tearing the node down');
  await bed.stop();
}
process.exitCode = code;
