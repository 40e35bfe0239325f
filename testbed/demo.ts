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
/** `npm run demo -- --keep`: the node stays up with an agent on it until Ctrl-C. */
const keep = process.argv.slice(2).includes('--keep');
const unknown = process.argv.slice(2).filter((a) => a !== '--keep');
if (unknown.length > 0) {
  process.stderr.write(`demo: unknown argument ${JSON.stringify(unknown[0])} (the only one is --keep)\n`);
  process.exit(2);
}

/** Runs the agent against the demo node and keeps everything up until SIGINT/SIGTERM, saying how to reach each part. */
async function keepRunning(b: TestBed): Promise<void> {
  const port = Number(process.env['DEMO_PORT'] ?? 9420);
  const agent = spawn(process.execPath, [cli, 'agent', ...b.scanArgs(), '--listen', `127.0.0.1:${port}`, '--probe-listen', '127.0.0.1:0', '--interval', '30s'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const me = `node ${cli}`;
  step('kept up: the node, its registry, the Kubernetes API and an agent (Ctrl-C tears it all down)');
  process.stdout.write([
    `the agent's page:        ${url}/`,
    `its findings (JSON):     curl -s ${url}/v1/findings`,
    `its metrics:             curl -s ${url}/metrics`,
    `the cluster view:        ${me} cluster --endpoints 127.0.0.1:${port}`,
    `scan the node again:     ${me} scan ${b.scanArgs().join(' ')}`,
    `how it resolves tags:    ${me} registries --containerd-config ${b.containerd.configPath}`,
    `the Kubernetes API:      KUBECONFIG=${b.kubeconfig}`,
    `the registry:            ${b.upstream.url} (push with skopeo copy --dest-tls-verify=false …)`,
    '',
  ].join('\n'));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('close', r));
}
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
  if (keep) await keepRunning(bed);
} finally {
  step('tearing the node down');
  await bed.stop();
}
process.exitCode = code;
