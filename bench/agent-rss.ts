/**
 * Agent memory at 5,000 images over many scan cycles: the agent runs as plain node
 * from dist/ in its own process (with the heap cap the container image sets), the
 * CRI server in another, so the RSS measured is the agent's alone.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export async function benchAgentRss(cycles: number, images = 5_000, containers = 500, nodeOptions = ['--max-old-space-size=128', '--max-semi-space-size=2']): Promise<Record<string, number | string>> {
  const server = fork(fileURLToPath(new URL('./fake-cri-server.ts', import.meta.url)), [String(images), String(containers)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const endpoint = await new Promise<string>((resolve) => server.once('message', (m) => resolve(String(m))));
  try {
    const loop = fork(fileURLToPath(new URL('../dist/bench/agent-loop.js', import.meta.url)), [endpoint, String(cycles)], { execArgv: nodeOptions, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const result = await new Promise<{ samples: { cycle: number; rss: number; heap: number; fds: number }[]; meanCycleMs: number; ok: number }>((resolve, reject) => {
      loop.once('message', (m) => resolve(m as never));
      loop.once('exit', (code) => reject(new Error(`agent loop exited ${code}`)));
    });
    const s = result.samples;
    const steady = s[0]!.rss;
    const end = s[s.length - 1]!.rss;
    return {
      images,
      containers,
      cycles,
      'node options': nodeOptions.join(' ') || '(none)',
      'images seen per scan': result.ok,
      'RSS after 100 cycles (MiB)': steady.toFixed(1),
      'RSS at end (MiB)': end.toFixed(1),
      'RSS max (MiB)': Math.max(...s.map((x) => x.rss)).toFixed(1),
      'growth after-100 → end (%)': (((end - steady) / steady) * 100).toFixed(1),
      'heap used at end (MiB)': s[s.length - 1]!.heap.toFixed(1),
      'open fds after 100 cycles → end': `${s[0]!.fds} → ${s[s.length - 1]!.fds}`,
      'mean cycle ms': Math.round(result.meanCycleMs),
      samples: s.map((x) => `${x.cycle}:${x.rss.toFixed(0)}`).join(' '),
    };
  } finally {
    server.kill();
  }
}
