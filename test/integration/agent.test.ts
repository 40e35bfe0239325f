/**
 * The agent on the real test bed: readiness, the API and metrics from a real scan,
 * containerd killed and restarted (ready again within 10 s, no process restart),
 * a missing socket at start, and a canary secret in the node's registry config that
 * must appear in no endpoint and no log line.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { freePort, waitFor } from '../../testbed/proc.js';
import { startAgent, type RunningAgent } from '../helpers/cli.js';

const CANARY = 'canary-hosts-header-6e1f0b';
let bed: TestBed;
let agent: RunningAgent;

beforeAll(async () => {
  bed = await TestBed.start({ nodeName: 'node-agent' });
  const v1 = await bed.publish('shop/web', '1.0', { version: '1.0.0' });
  await bed.kubelet.runPod({ namespace: 'shop', name: 'web-0', owner: { kind: 'StatefulSet', name: 'web' }, containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'IfNotPresent' }] });
  await bed.publish('shop/web', '1.0', { version: '1.0.1' });
  // A credential-bearing header in the node's hosts.toml: sent to the registry, shown nowhere.
  const dir = join(bed.containerd.certsDir, readdirSync(bed.containerd.certsDir).find((d) => d.startsWith('127.0.0.1'))!);
  appendFileSync(join(dir, 'hosts.toml'), `\n[host."${bed.upstream.url}".header]\n  authorization = "Bearer ${CANARY}"\n`);
  agent = await startAgent([...bed.scanArgs(), '--log-level', 'debug', '--interval', '5m'], await freePort());
}, 120_000);

afterAll(async () => {
  if (agent) expect(await agent.stop()).toBe(0);
  await bed?.stop();
});

describe('tagdrift agent on a real node', () => {
  it('becomes ready after the first scan and serves the findings of a real scan', async () => {
    await waitFor('agent ready', async () => (await agent.get('/readyz')).status === 200, 20_000);
    const findings = JSON.parse((await agent.get('/v1/findings?code=running-stale')).body) as { findings: { image: string }[] };
    expect(findings.findings.map((f) => f.image)).toEqual([`${bed.upstream.host}/shop/web:1.0`]);
    const report = JSON.parse((await agent.get('/v1/report')).body) as Report;
    expect(report.node).toBe('node-agent');
    const metrics = (await agent.get('/metrics')).body;
    expect(metrics).toContain('tagdrift_findings{code="running-stale",severity="critical"} 1');
    expect(metrics).toContain('tagdrift_runtime_up 1');
    expect(metrics).toMatch(/tagdrift_runtime_requests_total\{method="ListImages",code="OK"\} \d+/);
    expect(metrics).toMatch(new RegExp(`tagdrift_registry_requests_total\\{host="${bed.upstream.host}",code="200"\\} \\d+`));
  });

  it("promtool check metrics on the live /metrics: nothing about tagdrift's own series; the workload series is there", async () => {
    const text = (await agent.get('/metrics')).body;
    expect(text).toMatch(/^tagdrift_workload_findings\{namespace="shop",owner_kind="StatefulSet",owner_name="web",code="running-stale",severity="critical"\} 1$/m);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
    expect(problems.filter((l) => !/^(nodejs_|process_)/.test(l))).toEqual([]);
  });

  it('containerd killed: not ready; restarted: ready again within 10 s, same process', async () => {
    const pid = agent.pid;
    await bed.containerd.kill();
    await waitFor('agent not ready', async () => (await agent.get('/readyz')).status === 503, 15_000);
    expect((await agent.get('/healthz')).status).toBe(200);
    await bed.containerd.restart();
    const restarted = Date.now();
    await waitFor('agent ready again', async () => (await agent.get('/readyz')).status === 200, 10_000);
    const took = Date.now() - restarted;
    process.stdout.write(`agent ready again ${took} ms after containerd restarted\n`);
    expect(took).toBeLessThan(10_000);
    expect(agent.exited()).toBe(false);
    expect(agent.pid).toBe(pid);
    // The recovery also ran a fresh scan (the probe triggers one after a failed scan).
    await waitFor('metrics show the runtime up', async () => (await agent.get('/metrics')).body.includes('tagdrift_runtime_up 1'), 10_000);
  });

  it('the canary header value appears in no endpoint and no log line, even at debug level', async () => {
    const bodies = await Promise.all(['/v1/report', '/v1/findings', '/v1/images', '/v1/containers', '/v1/registries', '/metrics', '/openapi.json', '/readyz'].map((p) => agent.get(p)));
    for (const b of bodies) expect(b.body).not.toContain(CANARY);
    expect(agent.output()).not.toContain(CANARY);
    // …but the header name is visible in the plan, so an operator can see it is configured.
    expect(bodies[4]!.body).toContain('authorization');
  });
});

describe('socket missing at start', () => {
  it('no crash: /healthz 200, /readyz 503 with the reason, a runtime-unavailable finding', async () => {
    const lonely = await startAgent(['--runtime-endpoint', `unix://${bed.dir}/no-such.sock`, '--node-name', 'n-missing', '--registry-checks', 'off', '--containerd-config', '/nonexistent/config.toml'], await freePort());
    try {
      await waitFor('first scan', async () => (await lonely.get('/v1/report')).status === 200, 15_000);
      expect((await lonely.get('/healthz')).status).toBe(200);
      const ready = await lonely.get('/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).reason).toContain('socket-missing');
      const f = JSON.parse((await lonely.get('/v1/findings?code=runtime-unavailable')).body) as { findings: unknown[] };
      expect(f.findings).toHaveLength(1);
      expect(lonely.exited()).toBe(false);
    } finally {
      expect(await lonely.stop()).toBe(0);
    }
  });
});
