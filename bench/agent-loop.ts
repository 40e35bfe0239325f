/**
 * The measured side of the agent-rss benchmark, run as plain node from dist/ (no
 * TypeScript loader in the process): the agent, its metrics and HTTP app scanning a
 * CRI endpoint back to back. Reports RSS samples to the parent over IPC.
 */
import { readdirSync } from 'node:fs';
import { createCriClient } from '../src/adapters/cri/client.js';
import { Agent } from '../src/agent/agent.js';
import { SourceFailure } from '../src/domain/ports.js';
import { DEFAULT_MUTABLE_TAG_PATTERNS } from '../src/domain/mutable-tags.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { buildApp } from '../src/server/app.js';

const [endpoint, cyclesArg] = process.argv.slice(2);
const cycles = Number(cyclesArg);
const runtime = createCriClient({ endpoint: endpoint!, timeoutMs: 30_000 });
const metrics = new Metrics({ version: 'bench' });
const agent = new Agent(
  () => ({ runtime, pods: new SourceFailure('not-configured', 'bench'), now: () => new Date() }),
  { intervalMs: 300_000, jitter: 0, collect: { nodeName: 'bench' }, analyze: { mutableTagPatterns: DEFAULT_MUTABLE_TAG_PATTERNS } },
  createLogger('error', () => undefined),
);
agent.onScan((r, ms, ok) => metrics.updateFromScan(r, ms, ok));
const app = await buildApp({ agent, metrics, version: 'bench' });
const samples: { cycle: number; rss: number; heap: number; fds: number }[] = [];
const fds = (): number => readdirSync('/proc/self/fd').length;
const started = performance.now();
const every = Math.max(1, Math.floor(cycles / 20));
for (let i = 1; i <= cycles; i++) {
  await agent.scanOnce();
  if (i % 10 === 0) {
    await app.inject('/metrics');
    await app.inject('/v1/findings');
  }
  if (i === Math.min(100, cycles) || i % every === 0) {
    const m = process.memoryUsage();
    samples.push({ cycle: i, rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, fds: fds() });
  }
}
process.send?.({ samples, meanCycleMs: (performance.now() - started) / cycles, ok: agent.report?.images.length });
await agent.stop();
await app.close();
runtime.close();
process.exit(0);
