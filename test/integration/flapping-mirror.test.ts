/**
 * A flapping mirror on the real node: a resolve-capable mirror (a real registry) behind a
 * proxy that answers 503 to every other tag question, the everyday state of an overloaded
 * pull-through cache. The mirror holds an old build of the tag while upstream moved.
 * containerd's own requests go through the proxy (observed first); the agent then scans
 * every 2 s with its cache period shorter than that, so every scan asks the mirror.
 *
 * - With the hold (the default), once the mirror has answered, every later scan reports
 *   the same critical and warning findings; scans whose question failed say the answer
 *   was held and since when.
 * - Control, without the hold (`--registry-hold 0`): the mirror finding comes and goes.
 * - Control, the mirror really refreshes: the finding clears on the first fresh answer,
 *   not after the hold.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { freePort } from '../../testbed/proc.js';
import { startAgent, type RunningAgent } from '../helpers/cli.js';

const RULES = new URL('../../deploy/alerts/tagdrift.rules.yaml', import.meta.url).pathname;
let bed: TestBed;
let proxy: http.Server;
let proxyUrl: string;
const seen: { method: string; path: string; agent: string; status: number }[] = [];
const tagQuestions = new Map<string, number>();
let tag: string;
let newDigest: string;

/** Forwards to the mirror; every other HEAD/GET for the same tag (not a digest) is answered 503. */
function startFlappingProxy(target: string): Promise<void> {
  proxy = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const isTagQuestion = /\/manifests\/(?!sha256:)[^/]+$/.test(path) && (req.method === 'HEAD' || req.method === 'GET');
    const n = tagQuestions.get(path) ?? 0;
    if (isTagQuestion) tagQuestions.set(path, n + 1);
    if (isTagQuestion && n % 2 === 1) {
      seen.push({ method: req.method!, path: req.url!, agent: String(req.headers['user-agent']), status: 503 });
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"overloaded"}]}');
      return;
    }
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (r) => {
      seen.push({ method: req.method!, path: req.url!, agent: String(req.headers['user-agent']), status: r.statusCode ?? 0 });
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => {
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    resolve();
  }));
}

type Scan = { at: string; findings: Finding[]; mirrorStaleSeries: number };

/** The agent's `tagdrift_findings{code="mirror-stale"}` as Prometheus would scrape it (summed over severities). */
function mirrorStaleValue(metrics: string): number {
  return metrics.split('\n')
    .filter((l) => l.startsWith('tagdrift_findings{') && l.includes('code="mirror-stale"'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * Whether the shipped TagdriftMirrorServesStaleTag alert fires on these scraped values (one
 * scan per minute of rule time), evaluated by promtool at the last sample.
 */
function alertFires(values: readonly number[]): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'tagdrift-flap-'));
  try {
    const rule = (yaml.load(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert?: string; annotations: Record<string, string> }[] }[] })
      .groups.flatMap((g) => g.rules).find((r) => r.alert === 'TagdriftMirrorServesStaleTag')!;
    const labels = { node: 'n1', severity: 'critical' };
    const value = String(values.at(-1));
    const annotations = Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, v.replace(/\{\{ \$value \}\}/g, value).replace(/\{\{ \$labels\.node \}\}/g, 'n1')]));
    const file = join(dir, 'flap.test.yaml');
    writeFileSync(file, yaml.dump({
      rule_files: [RULES],
      evaluation_interval: '1m',
      tests: [{
        interval: '1m',
        input_series: [{ series: 'tagdrift_findings{code="mirror-stale",severity="critical",node="n1",job="tagdrift"}', values: values.join(' ') }],
        alert_rule_test: [{ eval_time: `${values.length - 1}m`, alertname: 'TagdriftMirrorServesStaleTag', exp_alerts: [{ exp_labels: labels, exp_annotations: annotations }] }],
      }],
    }, { lineWidth: 1000 }));
    try {
      execFileSync('promtool', ['test', 'rules', file], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reports of `n` consecutive scans, read from the agent's API as they appear. */
async function scans(agent: RunningAgent, n: number, until?: (s: Scan) => boolean): Promise<Scan[]> {
  const out: Scan[] = [];
  const deadline = Date.now() + 90_000;
  while (out.length < n && Date.now() < deadline) {
    const res = await agent.get('/v1/report');
    if (res.status === 200) {
      const r = JSON.parse(res.body) as Report;
      if (out.at(-1)?.at !== r.generatedAt) {
        const metrics = await agent.get('/metrics');
        out.push({ at: r.generatedAt, findings: r.findings, mirrorStaleSeries: mirrorStaleValue(metrics.body) });
        if (until?.(out.at(-1)!)) break;
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return out;
}

const serious = (s: Scan) => s.findings.filter((f) => f.severity !== 'info' && f.image === tag).map((f) => f.code).sort().join(',');
const hasMirrorStale = (s: Scan) => s.findings.some((f) => f.code === 'mirror-stale' && f.image === tag);

beforeAll(async () => {
  bed = await TestBed.start({ nodeName: 'node-flap', withMirror: true });
  await startFlappingProxy(bed.mirror!.url);
  bed.containerd.writeRoutes([{ host: bed.upstream.host, serverUrl: bed.upstream.url, mirrors: [{ url: proxyUrl, capabilities: ['pull', 'resolve'] }] }]);
  const v1 = await bed.publish('shop/cart', '2', { version: '2.0.0' });
  await bed.publish('shop/cart', '2', { version: '2.0.0' }, bed.mirror!);
  tag = v1.ref;
  await bed.kubelet.runPod({ namespace: 'shop', name: 'cart-0', owner: { kind: 'StatefulSet', name: 'cart' }, containers: [{ name: 'cart', image: tag, imagePullPolicy: 'IfNotPresent' }] });
  newDigest = (await bed.publish('shop/cart', '2', { version: '2.0.1' })).manifestDigest; // upstream moves; the mirror keeps 2.0.0
}, 180_000);

afterAll(async () => {
  proxy?.closeAllConnections();
  proxy?.close();
  await bed?.stop();
});

const agentArgs = () => [...bed.scanArgs(), '--interval', '2s', '--registry-cache-ttl', '1s'];

describe('a stale mirror behind a proxy that fails every other tag question', () => {
  it('containerd itself resolves the tag through the proxy', () => {
    expect(seen.some((r) => r.agent.startsWith('containerd/') && r.method === 'HEAD' && r.path.includes('/shop/cart/manifests/2'))).toBe(true);
  });

  it('with the hold: the same critical and warning findings in every scan once the mirror has answered', async () => {
    const agent = await startAgent(agentArgs(), await freePort());
    try {
      const all = await scans(agent, 22);
      const first = all.findIndex(hasMirrorStale);
      expect(first, JSON.stringify(all.map(serious))).toBeGreaterThanOrEqual(0);
      const steady = all.slice(first);
      expect(steady.length, JSON.stringify(all.map((s) => [s.at, serious(s)]))).toBeGreaterThanOrEqual(12);
      expect(new Set(steady.map(serious))).toEqual(new Set(['mirror-stale,running-stale']));
      // The proxy did fail during these scans, and the report said which answers were held.
      expect(seen.filter((r) => r.status === 503 && r.agent === 'tagdrift').length).toBeGreaterThanOrEqual(2);
      const held = steady.flatMap((s) => s.findings).filter((f) => f.code === 'mirror-stale' && f.confirmed?.heldThrough);
      expect(held.length).toBeGreaterThan(0);
      expect(held[0]!.confirmed!.heldThrough!.join(' ')).toContain(`${proxyUrl}: server-error`);
      expect(Date.parse(held[0]!.confirmed!.at)).toBeLessThan(Date.now());
      // The exported series holds too: the shipped alert (for: 10m) fires on it, one scan per minute of rule time.
      const series = steady.map((s) => s.mirrorStaleSeries);
      expect(series.every((v) => v > 0), JSON.stringify(series)).toBe(true);
      expect(alertFires(series)).toBe(true);
    } finally {
      await agent.stop();
    }
  });

  it('control, without the hold: the mirror finding comes and goes with the proxy', async () => {
    const agent = await startAgent([...agentArgs(), '--registry-hold', '0'], await freePort());
    try {
      const all = await scans(agent, 14);
      const flags = all.map(hasMirrorStale);
      expect(flags, JSON.stringify(all.map(serious))).toContain(true);
      expect(flags.slice(flags.indexOf(true))).toContain(false);
      // The alert never fires on a flapping series (the observed pattern, repeated to the length of the hold run): the case the hold exists for.
      const series = all.slice(flags.indexOf(true)).map((s) => s.mirrorStaleSeries);
      expect(series).toContain(0);
      expect(alertFires([...series, ...series, ...series].slice(0, 14))).toBe(false);
    } finally {
      await agent.stop();
    }
  });

  it('control, the mirror refreshes: the finding clears on its first fresh answer, not after the hold', async () => {
    const agent = await startAgent(agentArgs(), await freePort());
    try {
      const before = await scans(agent, 12, hasMirrorStale);
      expect(before.some(hasMirrorStale)).toBe(true);
      await bed.publish('shop/cart', '2', { version: '2.0.1' }, bed.mirror!);
      const refreshedAt = Date.now();
      const after = await scans(agent, 12, (s) => !hasMirrorStale(s));
      const cleared = after.find((s) => !hasMirrorStale(s));
      expect(cleared, JSON.stringify(after.map(serious))).toBeDefined();
      // Within a few scans (the hold bound is 15 minutes).
      expect(Date.parse(cleared!.at) - refreshedAt).toBeLessThan(20_000);
      const stale = cleared!.findings.find((f) => f.code === 'running-stale' && f.image === tag);
      expect(stale?.evidence).toMatchObject({ registryDigest: newDigest });
    } finally {
      await agent.stop();
    }
  });
});
