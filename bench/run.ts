/**
 * npm run bench [name…]: measured figures for BENCHMARKS.md. Names: fake-scale,
 * agent-rss, image-rss, runtime-choices, shared-resolver, notify-load, push-to-finding, http, registry, real-node, cluster, long-run. Without names, all run.
 * BENCH_CYCLES sets the agent-rss cycle count (default 10000).
 */
import { cpus, totalmem } from 'node:os';
import { benchFakeScale } from './fake-scale.js';
import { benchAgentRss } from './agent-rss.js';

const all: Record<string, () => Promise<Record<string, number | string>>> = {
  'fake-scale': () => benchFakeScale(Number(process.env['BENCH_FAKE_IMAGES'] ?? 10_000), Number(process.env['BENCH_FAKE_CONTAINERS'] ?? 2_000)),
  'agent-rss': () => benchAgentRss(Number(process.env['BENCH_CYCLES'] ?? 10_000)),
  http: async () => (await import('./http.js')).benchHttp(),
  registry: async () => (await import('./registry.js')).benchRegistry(),
  'real-node': async () => (await import('./real-node.js')).benchRealNode(),
  cluster: async () => (await import('./cluster.js')).benchCluster(),
  'shared-resolver': async () => (await import('./shared-resolver.js')).benchSharedResolver(),
  'notify-load': async () => (await import('./notify-load.js')).benchNotifyLoad(),
  'push-to-finding': async () => (await import('./push-to-finding.js')).benchPushToFinding(Number(process.env['BENCH_PUSHES'] ?? 20)),
  'image-rss': async () => (await import('./image-rss.js')).benchImageRss(),
  'runtime-choices': async () => (await import('./runtime-choices.js')).benchRuntimeChoices(),
  'long-run': async () => (await import('./long-run.js')).benchLongRun(Number(process.env['BENCH_LONG_CYCLES'] ?? 3_000)),
};

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(all);
process.stdout.write(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}\n`);
for (const name of wanted) {
  const fn = all[name];
  if (!fn) throw new Error(`unknown benchmark ${name} (known: ${Object.keys(all).join(', ')})`);
  const started = Date.now();
  const result = await fn();
  process.stdout.write(`\n## ${name} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  for (const [k, v] of Object.entries(result)) process.stdout.write(`  ${k}: ${v}\n`);
}
