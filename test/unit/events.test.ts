/**
 * Kubernetes Events (opt-in): posted to the fake Kubernetes API over HTTP, one Warning per
 * pod and finding code with the digests and the fix; repeats aggregated (count and
 * lastTimestamp patched at most once per repeat interval); new events rate-limited; a 403
 * stops posting for a back-off period and costs nothing else; the RBAC component renders.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder } from '../../src/agent/events.js';
import { inClusterApi, type KubeApi } from '../../src/adapters/kube/api.js';
import type { Report } from '../../src/domain/report.js';
import { createLogger } from '../../src/log.js';
import { analyze } from '../../src/report/analyze.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { fakeDigest } from '../fakes/fake-cri.js';
import { SnapshotBuilder } from '../fakes/snapshot-builder.js';
import { overlay } from '../helpers/kustomize.js';

const R = 'registry.example:5000';
const kube = new FakeKubeApi();
let api: KubeApi;
let dir: string;
const quiet = createLogger('error', () => undefined);

/** A node where `pods` pods of shop/web run a digest the registry no longer answers (running-stale). */
function staleReport(pods: number): Report {
  const b = new SnapshotBuilder();
  const old = b.image('web-v1', [`${R}/shop/web:1.0`]);
  for (let i = 0; i < pods; i++) b.pod({ ns: 'shop', name: `web-${i}`, container: 'web', image: `${R}/shop/web:1.0`, imageId: old.id, owner: { kind: 'Deployment', name: 'web' } });
  b.answer(`${R}/shop/web:1.0`, 'upstream', { ok: true, digest: fakeDigest('web-v2'), mediaType: undefined });
  const r = analyze(b.build());
  expect(r.findings.some((f) => f.code === 'running-stale'), 'the fixture has a running-stale finding').toBe(true);
  return r;
}

beforeAll(async () => {
  await kube.start();
  dir = mkdtempSync(join(tmpdir(), 'td-events-'));
  writeFileSync(join(dir, 'token'), 't');
  api = inClusterApi({ host: '127.0.0.1', port: String(kube.port), dir, scheme: 'http' }) as KubeApi;
});
afterAll(async () => {
  await kube.stop();
  rmSync(dir, { recursive: true, force: true });
});

const eventCalls = () => kube.requests.filter((r) => r.includes('/events')).length;

describe('Kubernetes Events', () => {
  it('one Warning event per pod and code, on the pod, with digests and the fix', async () => {
    kube.events.clear();
    let now = 1_000_000;
    const rec = new EventRecorder(api, { node: 'n1', now: () => now }, quiet);
    const report = staleReport(2);
    await rec.record(report);
    const events = [...kube.events.values()];
    expect(events).toHaveLength(2);
    for (const e of events) {
      expect(e).toMatchObject({ type: 'Warning', reason: 'ImageStale', count: 1, involvedObject: { kind: 'Pod', namespace: 'shop' }, source: { component: 'tagdrift', host: 'n1' } });
      expect(e.message).toContain(fakeDigest('web-v2'));
      expect(e.message).toMatch(/Fix: kubectl -n shop set image deployment\/web web=/);
      expect(e.message.length).toBeLessThanOrEqual(1024);
    }
    expect(new Set(events.map((e) => e.involvedObject.name))).toEqual(new Set(['web-0', 'web-1']));
    now += 60_000;
  });

  it('repeats are aggregated: nothing within the repeat interval, then count and lastTimestamp patched', async () => {
    kube.events.clear();
    let now = 2_000_000;
    const rec = new EventRecorder(api, { node: 'n1', now: () => now, repeatMs: 3_600_000 }, quiet);
    const report = staleReport(1);
    await rec.record(report);
    const before = eventCalls();
    now += 300_000;
    await rec.record(report);
    expect(eventCalls(), 'no call within the repeat interval').toBe(before);
    now += 3_600_000;
    await rec.record(report);
    expect(kube.requests.filter((r) => r.startsWith('PATCH')).length).toBeGreaterThan(0);
    const [e] = [...kube.events.values()];
    expect(e.count).toBe(2);
    expect(e.lastTimestamp).toBe(new Date(now).toISOString());
    expect(rec.stats).toMatchObject({ created: 1, patched: 1, suppressed: 1 });
  });

  it('a held answer (the registry failed this scan) changes nothing: no new event, no second one', async () => {
    kube.events.clear();
    let now = 2_500_000;
    const rec = new EventRecorder(api, { node: 'n1', now: () => now, repeatMs: 3_600_000 }, quiet);
    const fresh = staleReport(1);
    await rec.record(fresh);
    const before = eventCalls();
    const b = new SnapshotBuilder();
    const old = b.image('web-v1', [`${R}/shop/web:1.0`]);
    b.pod({ ns: 'shop', name: 'web-0', container: 'web', image: `${R}/shop/web:1.0`, imageId: old.id, owner: { kind: 'Deployment', name: 'web' } });
    b.answer(`${R}/shop/web:1.0`, 'upstream', {
      ok: true, digest: fakeDigest('web-v2'), mediaType: undefined, confirmedAt: new Date(now).toISOString(), held: { kind: 'server-error', message: `${R}: HTTP 503` },
    });
    const held = analyze(b.build());
    expect(held.findings.find((f) => f.code === 'running-stale')?.confirmed?.heldThrough?.[0]).toContain('server-error');
    now += 300_000;
    await rec.record(held);
    now += 300_000;
    await rec.record(fresh);
    expect(eventCalls()).toBe(before);
    expect(kube.events.size).toBe(1);
  });

  it('new events are rate-limited: a burst, then one per refill period', async () => {
    kube.events.clear();
    let now = 3_000_000;
    const rec = new EventRecorder(api, { node: 'n1', now: () => now, burst: 5, refillMs: 10_000 }, quiet);
    const report = staleReport(12);
    await rec.record(report);
    expect(kube.events.size).toBe(5);
    now += 20_000;
    await rec.record(report);
    expect(kube.events.size).toBe(7);
  });

  it('a 403 costs one request, then none for the back-off period', async () => {
    kube.events.clear();
    kube.failEventsWith = 403;
    try {
      let now = 4_000_000;
      const rec = new EventRecorder(api, { node: 'n1', now: () => now, forbiddenBackoffMs: 3_600_000 }, quiet);
      const report = staleReport(10);
      const before = eventCalls();
      await rec.record(report);
      expect(eventCalls() - before).toBe(1);
      now += 600_000;
      await rec.record(report);
      expect(eventCalls() - before).toBe(1);
      expect(rec.stats.failed).toBe(1);
    } finally {
      kube.failEventsWith = undefined;
    }
  });

  it('the events component grants create/patch on events to the agent and turns --events on', () => {
    const objs = overlay('resources: [../../deploy]\ncomponents: [../../deploy/components/events]\n');
    const role = objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'tagdrift-events')!;
    expect(role['rules']).toEqual([{ apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] }]);
    const binding = objs.find((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'tagdrift-events')!;
    expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'tagdrift', namespace: 'tagdrift' }]);
    const env = objs.find((o) => o.kind === 'DaemonSet')!['spec'].template.spec.containers[0].env as { name: string; value?: string }[];
    expect(env.find((e) => e.name === 'TAGDRIFT_EVENTS')?.value).toBe('true');
    // Without the component: no events RBAC, events off.
    const base = overlay('resources: [../../deploy]\n');
    expect(base.some((o) => o.metadata.name === 'tagdrift-events')).toBe(false);
  });
});
