/**
 * A long run on the real test bed: the agent scans every ~100 ms (registry checks on)
 * while containerd is killed and restarted every 20 s and the registry goes down for
 * 4 s every 9 s. RSS and open file descriptors must stay flat, with no unhandled
 * rejection; outcomes are counted (a scan while containerd is down fails, a tag asked
 * while the registry is down is unverified — never fresh or stale).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestBed } from '../testbed/bed.js';
import { startRegistry, type RunningRegistry } from '../testbed/registry.js';

export async function benchLongRun(cycles = 3_000, pauseMs = 100): Promise<Record<string, number | string>> {
  const bed = await TestBed.start({ nodeName: 'long-run' });
  let registry: RunningRegistry = bed.upstream;
  const port = Number(bed.upstream.host.split(':')[1]);
  let stop = false;
  const chaos: Promise<void>[] = [];
  const counts = { containerdRestarts: 0, registryOutages: 0 };
  try {
    for (let i = 0; i < 5; i++) {
      const img = await bed.publish(`long/app${i}`, '1.0', { version: `${i}.0` });
      await bed.kubelet.runPod({ namespace: 'long', name: `app${i}`, containers: [{ name: 'app', image: img.ref, imagePullPolicy: 'IfNotPresent' }] });
    }
    await bed.publish('long/app0', '1.0', { version: '0.1' }); // one stale tag to find each cycle
    const loop = fork(fileURLToPath(new URL('../dist/bench/long-run-loop.js', import.meta.url)), [String(cycles), String(pauseMs), ...bed.scanArgs(), '--registry-cache-ttl', '1ms', '--registry-timeout', '2s'], {
      execArgv: ['--max-old-space-size=128', '--max-semi-space-size=2', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    chaos.push((async () => {
      while (!stop) {
        await sleep(20_000);
        if (stop) break;
        await bed.containerd.kill();
        await sleep(2_000);
        await bed.containerd.restart();
        counts.containerdRestarts += 1;
      }
    })());
    chaos.push((async () => {
      while (!stop) {
        await sleep(9_000);
        if (stop) break;
        await registry.stop();
        await sleep(4_000);
        registry = await startRegistry(bed.dir, 'upstream', undefined, port);
        counts.registryOutages += 1;
      }
    })());
    const started = Date.now();
    const result = await new Promise<{ samples: { cycle: number; rss: number; heap: number; fds: number }[]; outcomes: Record<string, number>; unhandled: number; reasons: Record<string, number>; requestCodes: Record<string, number> }>((resolve, reject) => {
      loop.once('message', (m) => resolve(m as never));
      loop.once('exit', (code) => reject(new Error(`long-run loop exited ${code}`)));
    });
    stop = true;
    const s = result.samples;
    return {
      cycles,
      'pause between scans ms': pauseMs,
      'wall time s': Math.round((Date.now() - started) / 1000),
      'containerd restarts': counts.containerdRestarts,
      'registry outages': counts.registryOutages,
      'scans with the runtime up / down': `${result.outcomes['runtimeOk']} / ${result.outcomes['runtimeDown']}`,
      'tag answers verified / unverified': `${result.outcomes['tagsVerified']} / ${result.outcomes['tagsUnverified']}`,
      'unhandled rejections': result.unhandled,
      'registry requests by method and code': Object.entries(result.requestCodes).map(([k, v]) => `${k}: ${v}`).join(', '),
      'why tags were unverified': Object.entries(result.reasons).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}× ${k}`).join('; ') || 'none',
      'RSS after 100 cycles → end (MiB)': `${s[0]!.rss.toFixed(1)} → ${s[s.length - 1]!.rss.toFixed(1)}`,
      'RSS max (MiB)': Math.max(...s.map((x) => x.rss)).toFixed(1),
      'open fds after 100 cycles → end (max)': `${s[0]!.fds} → ${s[s.length - 1]!.fds} (${Math.max(...s.map((x) => x.fds))})`,
      'heap used after 100 cycles → end (MiB, after gc)': `${s[0]!.heap.toFixed(1)} → ${s[s.length - 1]!.heap.toFixed(1)}`,
      samples: s.map((x) => `${x.cycle}:${x.rss.toFixed(0)}/${x.heap.toFixed(1)}/${x.fds}`).join(' '),
    };
  } finally {
    stop = true;
    await Promise.allSettled(chaos);
    if (registry !== bed.upstream) await registry.stop();
    await bed.stop();
  }
}
