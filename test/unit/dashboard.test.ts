/**
 * The Grafana dashboard (deploy/components/grafana-dashboard): rendered by kubectl kustomize
 * as the sidecar expects it, every PromQL expression in it accepted by promtool (as recording
 * rules, with Grafana's variables given values), and every series it names one the agent
 * exports.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import { overlay } from '../helpers/kustomize.js';

const FILE = new URL('../../deploy/components/grafana-dashboard/tagdrift-dashboard.json', import.meta.url);
type Panel = { title: string; type: string; targets?: { expr: string }[]; panels?: Panel[] };
const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as { uid: string; panels: Panel[]; templating: { list: { name: string; query: unknown }[] } };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const dir = mkdtempSync(join(tmpdir(), 'tagdrift-dashboard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Grafana's variables as they are at query time. */
const concrete = (e: string) => e.replace(/\$__rate_interval/g, '5m').replace(/\$node/g, '.*');

describe('Grafana dashboard', () => {
  it('ships as a ConfigMap the dashboard sidecar picks up (kubectl kustomize of an overlay with the component)', () => {
    const cm = overlay('resources: [../../deploy]\ncomponents: [../../deploy/components/grafana-dashboard]\n').find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'tagdrift-grafana-dashboard')!;
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(cm.metadata.namespace).toBe('tagdrift');
    expect(JSON.parse(cm['data']['tagdrift-dashboard.json'])).toEqual(dashboard);
  });

  it('every expression passes promtool check rules', () => {
    expect(exprs.length).toBeGreaterThanOrEqual(12);
    const rules = { groups: [{ name: 'dashboard', rules: exprs.map((e, i) => ({ record: `tagdrift:dashboard:${i}`, expr: concrete(e.expr) })) }] };
    const file = join(dir, 'dashboard.rules.yaml');
    writeFileSync(file, yaml.dump(rules, { lineWidth: 1000 }));
    expect(execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })).toContain(`SUCCESS: ${exprs.length} rules found`);
  });

  it('names only series the agent exports', async () => {
    const exported = new Set([...(await new Metrics({ version: 't' }).render()).matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])));
    const named = new Set([...exprs.map((e) => e.expr), JSON.stringify(dashboard.templating)].flatMap((e) => [...e.matchAll(/\b(tagdrift_[a-z_]+)/g)].map((m) => m[1]!)));
    expect(named.size).toBeGreaterThan(5);
    for (const n of named) expect(exported.has(n), n).toBe(true);
  });

  it('has what the issue of the day needs: severity, code, node and namespace views, stale workloads, registries, sources, scan duration', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    expect(all).toMatch(/sum by \(severity\) \(tagdrift_findings/);
    expect(all).toMatch(/sum by \(code\) \(tagdrift_findings/);
    expect(all).toMatch(/sum by \(node\) \(tagdrift_findings/);
    expect(all).toMatch(/sum by \(namespace\) \(tagdrift_workload_findings/);
    expect(panels.find((p) => p.type === 'table')?.targets?.[0]?.expr).toMatch(/owner_name.*running-stale/);
    expect(all).toMatch(/rate\(tagdrift_registry_requests_total/);
    expect(all).toMatch(/code!~"2\.\."/);
    expect(all).toMatch(/tagdrift_runtime_up/);
    expect(all).toMatch(/tagdrift_pod_intent_up/);
    expect(all).toMatch(/tagdrift_scan_duration_seconds_bucket/);
  });
});
