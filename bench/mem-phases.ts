/**
 * Where the agent's memory goes, by phase (diagnostic, not a benchmark): heap and RSS after
 * importing, after one scan of N images, after the report is serialised and the API read,
 * with forced GCs in between (run with --expose-gc, from dist/).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const images = Number(process.argv[2] ?? 5000);
const containers = Number(process.argv[3] ?? 500);
const server = fork(fileURLToPath(new URL('../../bench/fake-cri-server.ts', import.meta.url)), [String(images), String(containers)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const endpoint = await new Promise<string>((r) => server.once('message', (m) => r(String(m))));
const gc = (globalThis as { gc?: () => void }).gc!;
const mem = (label: string) => {
  gc();
  gc();
  const m = process.memoryUsage();
  console.log(`${label.padEnd(34)} rss ${(m.rss / 2 ** 20).toFixed(1)}  heapUsed ${(m.heapUsed / 2 ** 20).toFixed(1)}  heapTotal ${(m.heapTotal / 2 ** 20).toFixed(1)}  external ${(m.external / 2 ** 20).toFixed(1)}  arrayBuffers ${(m.arrayBuffers / 2 ** 20).toFixed(1)}`);
};
mem('start');
const { createCriClient } = await import('../src/adapters/cri/client.js');
const { Agent } = await import('../src/agent/agent.js');
const { SourceFailure } = await import('../src/domain/ports.js');
const { DEFAULT_MUTABLE_TAG_PATTERNS } = await import('../src/domain/mutable-tags.js');
const { createLogger } = await import('../src/log.js');
const { Metrics } = await import('../src/metrics/metrics.js');
const { buildApp } = await import('../src/server/app.js');
mem('imported');
const runtime = createCriClient({ endpoint, timeoutMs: 30_000 });
const metrics = new Metrics({ version: 'bench' });
const agent = new Agent(() => ({ runtime, pods: new SourceFailure('not-configured', 'bench'), now: () => new Date() }), { intervalMs: 300_000, jitter: 0, collect: { nodeName: 'bench' }, analyze: { mutableTagPatterns: DEFAULT_MUTABLE_TAG_PATTERNS } }, createLogger('error', () => undefined));
agent.onScan((r, ms, ok) => metrics.updateFromScan(r, ms, ok));
const app = await buildApp({ agent, metrics, version: 'bench' });
mem('app built');
await agent.scanOnce();
mem('after 1 scan');
console.log(`report JSON ${((await app.inject('/v1/report')).body.length / 2 ** 20).toFixed(1)} MiB`);
mem('report serialised');
for (const p of ['/v1/report', '/v1/findings', '/v1/images', '/v1/containers', '/metrics']) await app.inject(p);
mem('API read once');
const t0 = performance.now();
for (let i = 0; i < 5; i++) await agent.scanOnce();
console.log(`scan ${((performance.now() - t0) / 5).toFixed(0)} ms (mean of 5)`);
for (const p of ['/v1/report', '/v1/findings', '/v1/images', '/v1/containers', '/metrics']) await app.inject(p);
mem('after 6 scans + reads');
{
  // The agent's collection after each scan (src/cli/agent.ts): its cost with this heap.
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    await agent.scanOnce();
    const t = performance.now();
    (gc as unknown as (o: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    times.push(performance.now() - t);
  }
  console.log(`last-resort collection after a scan: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
}
const { getHeapSpaceStatistics } = await import('node:v8');
console.log(getHeapSpaceStatistics().map((x) => `${x.space_name} ${(x.space_size / 2 ** 20).toFixed(1)}/${(x.space_used_size / 2 ** 20).toFixed(1)}`).join('  '));
const { readFileSync } = await import('node:fs');
console.log(readFileSync('/proc/self/smaps_rollup', 'utf8').split('\n').filter((l) => /^(Rss|Anonymous|Shared_Clean|Private_Clean|Private_Dirty)/.test(l)).map((l) => l.replace(/\s+/g, ' ')).join(' | '));
await agent.stop();
await app.close();
runtime.close();
server.kill();
