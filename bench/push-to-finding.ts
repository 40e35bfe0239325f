/**
 * Push to finding on the real bed: docker-registry notifying a real `tagdrift resolver`, a
 * real containerd node running a pod from `shop/web:1.0`, a real agent at its default
 * interval (5 min) and cache period. The tag is re-pushed N times (a new build each time);
 * each time, the clock runs from the end of the push to the moment the agent's
 * `/v1/findings` shows running-stale with the registry's new digest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestBed } from '../testbed/bed.js';
import { freePort, waitFor } from '../testbed/proc.js';
import { startAgent, CLI, type RunningAgent } from '../test/helpers/cli.js';
import { routableAddress } from '../test/helpers/routable.js';

const SECRET = 'bench-push-notification-secret-01';
const TOKEN = 'bench-agent-token-for-the-resolver';

export async function benchPushToFinding(pushes: number): Promise<Record<string, number | string>> {
  const net = routableAddress();
  const port = await freePort();
  const bed = await TestBed.start({ nodeName: 'bench-push', registryAddress: net.address, registryNotifications: { url: `http://127.0.0.1:${port}/v1/notifications`, authorization: `Bearer ${SECRET}` } });
  let resolver: ChildProcess | undefined;
  let agent: RunningAgent | undefined;
  try {
    bed.kube.tokens.set(TOKEN, { username: 'system:serviceaccount:tagdrift:tagdrift', groups: [], audiences: ['tagdrift-resolver'] });
    writeFileSync(join(bed.dir, 'token'), TOKEN);
    writeFileSync(join(bed.dir, 'secret'), SECRET);
    const v0 = await bed.publish('shop/web', '1.0', { version: 'v0' });
    await bed.kubelet.runPod({ namespace: 'shop', name: 'web-0', owner: { kind: 'StatefulSet', name: 'web' }, containers: [{ name: 'web', image: v0.ref, imagePullPolicy: 'IfNotPresent' }] });
    resolver = spawn(process.execPath, [CLI, 'resolver', '--listen', `127.0.0.1:${port}`, '--replicas', '1', '--kubeconfig', bed.kubeconfig, '--allow-endpoints', bed.upstream.url, '--notify', `${bed.upstream.url}=${join(bed.dir, 'secret')}`], { stdio: 'ignore' });
    await waitFor('resolver', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 15_000);
    agent = await startAgent([...bed.scanArgs(), '--resolver-url', `http://127.0.0.1:${port}`, '--resolver-token-file', join(bed.dir, 'token')], await freePort());
    await waitFor('agent ready', async () => (await agent!.get('/readyz')).status === 200, 30_000);
    const times: number[] = [];
    for (let n = 1; n <= pushes; n++) {
      await bed.publish('shop/web', '1.0', { version: `v${n}` });
      const pushed = performance.now();
      const digest = (await fetch(`${bed.upstream.url}/v2/shop/web/manifests/1.0`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).headers.get('docker-content-digest');
      await waitFor(`finding for push ${n}`, async () => {
        const f = JSON.parse((await agent!.get('/v1/findings?code=running-stale')).body) as { findings: { evidence: { registryDigest?: string } }[] };
        return f.findings.some((x) => x.evidence.registryDigest === digest);
      }, 60_000);
      times.push(performance.now() - pushed);
      // The agent scans at most once per 2 s when asked early: pushes a little apart, as real ones are.
      await new Promise((r) => setTimeout(r, 2_500));
    }
    const sorted = [...times].sort((a, b) => a - b);
    return {
      pushes,
      'agent interval / cache period': '5m / 60s (defaults)',
      'push to finding, median (ms)': Math.round(sorted[Math.floor(sorted.length / 2)]!),
      'push to finding, worst (ms)': Math.round(sorted[sorted.length - 1]!),
      'push to finding, best (ms)': Math.round(sorted[0]!),
    };
  } finally {
    await agent?.stop();
    resolver?.kill('SIGTERM');
    await bed.stop();
    net.cleanup();
  }
}
