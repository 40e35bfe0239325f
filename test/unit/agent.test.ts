/**
 * The agent loop and its faults on the fake runtime: one scan at a time, jitter in
 * range, /healthz and /metrics answering within 1 s while the runtime hangs, and a
 * runtime that disappears and comes back.
 */
import { waitFor } from '../../testbed/proc.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { createCriClient } from '../../src/adapters/cri/client.js';
import { SourceFailure } from '../../src/domain/ports.js';
import type { CollectDeps } from '../../src/scan/scan.js';
import { DEFAULT_MUTABLE_TAG_PATTERNS } from '../../src/domain/mutable-tags.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { buildApp } from '../../src/server/app.js';
import { createLogger } from '../../src/log.js';
import { FakeCri, fakeDigest } from '../fakes/fake-cri.js';

const quiet = createLogger('error', () => undefined);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { delayMs?: number; timeoutMs?: number; livenessTimeoutMs?: number } = {}) {
  const cri = await new FakeCri()
    .withImages({ id: fakeDigest('img'), repoTags: ['r.example/a:1'], repoDigests: [`r.example/a@${fakeDigest('m')}`], size: 1 })
    .start();
  cri.delayMs = opts.delayMs ?? 0;
  const runtime = createCriClient({ endpoint: cri.endpoint, timeoutMs: opts.timeoutMs ?? 2_000 });
  const deps = (): CollectDeps => ({ runtime, pods: new SourceFailure('not-configured', 'no API in this test'), now: () => new Date() });
  const agent = new Agent(deps, { intervalMs: 60_000, jitter: 0.1, livenessTimeoutMs: opts.livenessTimeoutMs ?? 0, collect: { nodeName: 'n1' }, analyze: { mutableTagPatterns: DEFAULT_MUTABLE_TAG_PATTERNS } }, quiet);
  const metrics = new Metrics({ version: 't' });
  agent.onScan((r, ms, ok) => metrics.updateFromScan(r, ms, ok));
  const app = await buildApp({ agent, metrics, version: 't' });
  cleanups.push(() => cri.stop(), () => runtime.close(), () => agent.stop(), () => app.close());
  return { cri, agent, app, metrics };
}

describe('agent loop', () => {
  it('never runs two scans at once: concurrent triggers share one scan', async () => {
    const { cri, agent } = await setup({ delayMs: 100 });
    const before = cri.calls.filter((c) => c === 'ListImages').length;
    const reports = await Promise.all([agent.scanOnce(), agent.scanOnce(), agent.scanOnce()]);
    expect(new Set(reports).size).toBe(1);
    expect(cri.calls.filter((c) => c === 'ListImages').length - before).toBe(1);
    expect(agent.status.scans).toBe(1);
  });

  it('jitter keeps every delay within ±10 % of the interval', () => {
    let x = 0;
    const values = [0, 0.5, 0.999999];
    const agent = new Agent(() => { throw new Error('unused'); }, { intervalMs: 300_000, jitter: 0.1, collect: { nodeName: 'n' }, analyze: { mutableTagPatterns: [] } }, quiet, () => values[x++ % 3]!);
    const delays = [agent.nextDelay(), agent.nextDelay(), agent.nextDelay()];
    expect(delays[0]).toBe(270_000);
    expect(delays[1]).toBe(300_000);
    expect(delays[2]).toBeGreaterThan(329_990);
    expect(delays[2]).toBeLessThanOrEqual(330_000);
  });

  it('a hung runtime: /healthz and /metrics still answer within 1 s while a scan waits on it', async () => {
    const { app, agent, cri } = await setup({ delayMs: 60_000, timeoutMs: 30_000 });
    void agent.scanOnce();
    await waitFor('the scan to reach the runtime', () => cri.calls.length > 0, 5_000);
    for (const url of ['/healthz', '/metrics']) {
      const started = performance.now();
      const res = await app.inject(url);
      expect(res.statusCode, url).toBe(200);
      expect(performance.now() - started, url).toBeLessThan(1_000);
    }
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    cri.delayMs = 0;
  });

  it('a runtime that fails makes /readyz 503 with the reason and a runtime-unavailable finding; recovery makes it ready again', async () => {
    const { app, agent, cri } = await setup();
    await agent.scanOnce();
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    cri.failWith = 14; // UNAVAILABLE
    await agent.scanOnce();
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().reason).toContain('unavailable');
    const findings = (await app.inject('/v1/findings?code=runtime-unavailable')).json() as { findings: unknown[] };
    expect(findings.findings).toHaveLength(1);
    expect((await app.inject('/metrics')).body).toContain('tagdrift_runtime_up 0');
    cri.failWith = undefined;
    await agent.scanOnce();
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    expect((await app.inject('/metrics')).body).toContain('tagdrift_runtime_up 1');
    expect(agent.status).toMatchObject({ scans: 3, failures: 1 });
  });

  it('liveness: dead once the runtime has not answered past the timeout, alive again when it answers', async () => {
    const { cri, agent, app } = await setup({ livenessTimeoutMs: 5_000 });
    await agent.scanOnce();
    expect(agent.live(performance.now() + 60_000).live, 'a healthy runtime').toBe(true);
    await cri.stop(false);
    await agent.probeRuntime();
    const now = performance.now();
    expect(agent.live(now + 4_000).live, 'a short outage is not fatal').toBe(true);
    const dead = agent.live(now + 6_000);
    expect(dead.live).toBe(false);
    expect(dead.reason).toMatch(/runtime has not answered for \d+ s/);
    await cri.start();
    await waitFor('the runtime to answer the probe', async () => {
      await agent.probeRuntime();
      return agent.live(performance.now() + 6_000).live;
    }, 5_000);
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it('liveness: a stalled scan loop (no scan finished for timeout + interval) is dead', async () => {
    const { agent } = await setup({ livenessTimeoutMs: 5_000 });
    const start = performance.now();
    expect(agent.live(start + 60_000).live).toBe(true);
    expect(agent.live(start + 5_000 + 66_001 + 1_000).reason).toMatch(/no scan has finished/);
  });
});

describe('scans asked for early (a pushed tag)', () => {
  it('scanSoon runs a scan long before the interval, never two at once, and no sooner than the least gap', async () => {
    const { cri, agent } = await setup({ delayMs: 300 });
    const scans = () => cri.calls.filter((c) => c === 'ListImages').length;
    agent.start();
    await waitFor('first scan', () => agent.status.scans === 1 && agent.report !== undefined, 5_000);
    const after = scans();
    // Asked three times while the start-up scan's gap has not passed: one scan, about 2 s after the first began.
    const t0 = performance.now();
    agent.scanSoon();
    agent.scanSoon();
    agent.scanSoon();
    await waitFor('one early scan', () => agent.status.scans === 2, 5_000);
    expect(scans() - after).toBe(1);
    expect(performance.now() - t0).toBeLessThan(3_000);
    // Asked while a scan runs: one more right after it, not one per call.
    await new Promise((r) => setTimeout(r, 2_100));
    agent.scanSoon();
    await waitFor('a scan in flight', () => agent.status.scans === 3, 3_000);
    agent.scanSoon();
    agent.scanSoon();
    await waitFor('the one after it', () => agent.status.scans === 4, 6_000);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(agent.status.scans).toBe(4);
  });

  it("a push starts a scan only for a tag the latest report asked at that endpoint and got another answer for", async () => {
    const { answeredOtherwise } = await import('../../src/cli/agent.js');
    const d1 = fakeDigest('one');
    const report = { registryTruth: [{ registry: 'r.example', repository: 'shop/web', tag: '1.0', role: 'upstream', endpoint: 'https://r.example/', result: { ok: true, digest: d1 } }] } as never;
    const push = (o: Partial<{ endpoint: string; repository: string; tag: string; digest: string }>) => ({ endpoint: 'https://r.example', repository: 'shop/web', tag: '1.0', digest: fakeDigest('two'), ...o });
    expect(answeredOtherwise(report, push({}))).toBe(true);
    expect(answeredOtherwise(report, push({ digest: d1 }))).toBe(false);
    expect(answeredOtherwise(report, push({ tag: '2.0' }))).toBe(false);
    expect(answeredOtherwise(report, push({ endpoint: 'https://other.example' }))).toBe(false);
    expect(answeredOtherwise(undefined, push({}))).toBe(false);
  });
});
