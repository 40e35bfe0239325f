/**
 * The agent side of the long run: the real wiring (`createSources` from the CLI, the
 * same options as `tagdrift agent`), scanning back to back. Reports RSS, open file
 * descriptors, scan outcomes and unhandled rejections to the parent over IPC.
 */
import { readdirSync } from 'node:fs';
import { Agent } from '../src/agent/agent.js';
import { createSources } from '../src/cli/sources.js';
import { loadOptions } from '../src/config/options.js';
import { createLogger } from '../src/log.js';
import { Metrics } from '../src/metrics/metrics.js';
import { buildApp } from '../src/server/app.js';

let unhandled = 0;
process.on('unhandledRejection', () => (unhandled += 1));
const cycles = Number(process.argv[2]);
const pauseMs = Number(process.argv[3]);
const options = loadOptions('agent', process.argv.slice(4), {});
const log = createLogger('error', () => undefined);
const metrics = new Metrics({ version: 'bench' });
const requestCodes = new Map<string, number>();
const sources = await createSources(options, log, {
  onRuntimeCall: metrics.observeRuntimeCall,
  onRegistryRequest: (host, method, code) => {
    metrics.observeRegistryRequest(host, method, code);
    requestCodes.set(`${method} ${code}`, (requestCodes.get(`${method} ${code}`) ?? 0) + 1);
  },
});
const agent = new Agent(() => sources.deps(), { intervalMs: 300_000, jitter: 0, collect: sources.collectOptions(), analyze: { mutableTagPatterns: options.mutableTags } }, log);
agent.onScan((r, ms, ok) => metrics.updateFromScan(r, ms, ok, sources.registry?.stats()));
const app = await buildApp({ agent, metrics, version: 'bench' });
const samples: { cycle: number; rss: number; heap: number; fds: number }[] = [];
const outcomes = { runtimeOk: 0, runtimeDown: 0, tagsVerified: 0, tagsUnverified: 0 };
const reasons = new Map<string, number>();
const every = Math.max(1, Math.floor(cycles / 20));
for (let i = 1; i <= cycles; i++) {
  const report = await agent.scanOnce();
  if (report?.sources.runtime.ok) outcomes.runtimeOk += 1;
  else outcomes.runtimeDown += 1;
  for (const a of report?.registryTruth ?? []) {
    if (a.result.ok) outcomes.tagsVerified += 1;
    else {
      outcomes.tagsUnverified += 1;
      const why = `${a.result.kind}: ${a.result.message.replace(/until .*$/, 'until …').replace(/127\.0\.0\.1:\d+/g, 'registry')}`;
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    }
  }
  if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  if (i % 10 === 0) {
    await app.inject('/metrics');
    await app.inject('/v1/findings');
  }
  if (i === Math.min(100, cycles) || i % every === 0) {
    global.gc?.();
    const m = process.memoryUsage();
    samples.push({ cycle: i, rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, fds: readdirSync('/proc/self/fd').length });
  }
}
process.send?.({ samples, outcomes, unhandled, reasons: Object.fromEntries(reasons), requestCodes: Object.fromEntries(requestCodes) });
await agent.stop();
await app.close();
sources.close();
process.exit(0);
