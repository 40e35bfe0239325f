/**
 * The shipped alerts: promtool check rules on both forms, every alert with severity,
 * summary, description and a runbook_url into a README section, the PrometheusRule in
 * sync with the plain file, and promtool test rules with a firing and a non-firing case
 * per alert.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { prometheusRule } from '../../scripts/gen-prometheusrule.js';

const RULES_FILE = new URL('../../deploy/alerts/tagdrift.rules.yaml', import.meta.url);
const rulesText = readFileSync(RULES_FILE, 'utf8');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
interface Rule { alert: string; expr: string; for?: string; labels: Record<string, string>; annotations: Record<string, string> }
const rules = (yaml.load(rulesText) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dir = mkdtempSync(join(tmpdir(), 'tagdrift-promtool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function promtool(args: string[]): string {
  try {
    return execFileSync('promtool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error('promtool not found: install Debian package prometheus (scripts/install-deps.sh does)');
    throw new Error(`promtool ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

describe('alert rules', () => {
  it('promtool check rules accepts the plain file and the PrometheusRule groups', () => {
    expect(promtool(['check', 'rules', RULES_FILE.pathname])).toContain('SUCCESS: 13 rules found');
    const pr = yaml.load(readFileSync(new URL('../../deploy/components/monitoring/prometheusrule.yaml', import.meta.url), 'utf8')) as { spec: { groups: unknown } };
    const extracted = join(dir, 'from-prometheusrule.yaml');
    writeFileSync(extracted, yaml.dump({ groups: pr.spec.groups }));
    expect(promtool(['check', 'rules', extracted])).toContain('SUCCESS');
  });

  it('deploy/components/monitoring/prometheusrule.yaml is generated from the plain file (npm run docs)', () => {
    expect(readFileSync(new URL('../../deploy/components/monitoring/prometheusrule.yaml', import.meta.url), 'utf8')).toBe(prometheusRule(rulesText));
  });

  it('every alert: CamelCase with the Tagdrift prefix, a severity, summary, description and a runbook into the README', () => {
    const required = ['TagdriftStaleImageRunning', 'TagdriftMirrorServesStaleTag', 'TagdriftCachedTagStale', 'TagdriftMirrorConfigIgnored', 'TagdriftContainerdConfigError', 'TagdriftRuntimeUnavailable', 'TagdriftScansFailing', 'TagdriftAgentMissing'];
    for (const name of required) expect(rules.map((r) => r.alert)).toContain(name);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Tagdrift[A-Z][A-Za-z]+$/);
      expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.description, r.alert).toBeTruthy();
      const anchor = /README\.md#([a-z-]+)$/.exec(r.annotations.runbook_url ?? '')?.[1];
      expect(anchor, `${r.alert} runbook_url`).toBeDefined();
      expect(readme, `README section for #${anchor}`).toMatch(new RegExp(`^### ${anchor}$`, 'm'));
      expect(r.for, `${r.alert} has a for:`).toBeDefined();
    }
  });
});

/** A promtool case: input series, when to evaluate, and the alert's labels and value when it fires. */
interface Case {
  alert: string;
  series: { series: string; values: string }[];
  eval: string;
  fires?: { labels: Record<string, string>; value: string; humanized?: string };
}

const S = (labels: string, values: string) => ({ series: labels, values });
const finding = (code: string, values: string) => S(`tagdrift_findings{code="${code}",severity="critical",node="n1",job="tagdrift"}`, values);
const fire = (severity: string, value = '1', extra: Record<string, string> = { node: 'n1' }) => ({ labels: { ...extra, severity }, value });
/** A workload's finding series as two agents export them (one container on each of two nodes). */
const workload = (code: string, values: string, severity = 'critical') => [
  S(`tagdrift_workload_findings{namespace="shop",owner_kind="Deployment",owner_name="web",code="${code}",severity="${severity}",node="n1",job="tagdrift"}`, values),
  S(`tagdrift_workload_findings{namespace="shop",owner_kind="Deployment",owner_name="web",code="${code}",severity="${severity}",node="n2",job="tagdrift"}`, values),
];
const WEB = { namespace: 'shop', owner_kind: 'Deployment', owner_name: 'web' };

const CASES: Case[] = [
  { alert: 'TagdriftStaleImageRunning', series: workload('running-stale', '1x60'), eval: '15m', fires: fire('critical', '2', WEB) },
  { alert: 'TagdriftStaleImageRunning', series: workload('running-stale', '0x60'), eval: '15m' },
  { alert: 'TagdriftStaleImageRunning', series: [...workload('running-stale', '1x5 0x55'), finding('running-stale', '1x60')], eval: '15m' },
  { alert: 'TagdriftSupersededImageRunning', series: workload('running-superseded', '2x60', 'warning'), eval: '45m', fires: fire('warning', '4', WEB) },
  { alert: 'TagdriftSupersededImageRunning', series: workload('running-superseded', '0x60', 'warning'), eval: '45m' },
  { alert: 'TagdriftMirrorServesStaleTag', series: [finding('mirror-stale', '1x60')], eval: '15m', fires: fire('critical') },
  { alert: 'TagdriftMirrorServesStaleTag', series: [finding('mirror-stale', '0x60')], eval: '15m' },
  // A mirror whose lag grows a minute a minute past its 30-minute limit fires (value: the lag then)…
  {
    alert: 'TagdriftMirrorLagging',
    series: [S('tagdrift_mirror_lag_seconds{mirror="mirror.local:5001",node="n1",job="tagdrift"}', '0+60x60'), S('tagdrift_mirror_lag_limit_seconds{node="n1",job="tagdrift"}', '1800x60')],
    eval: '40m', fires: { ...fire('warning', '2400', { node: 'n1', mirror: 'mirror.local:5001' }), humanized: '40m 0s' },
  },
  // …one that refreshes before the limit (lag back to 0 at 20 min) does not…
  {
    alert: 'TagdriftMirrorLagging',
    series: [S('tagdrift_mirror_lag_seconds{mirror="mirror.local:5001",node="n1",job="tagdrift"}', '0+60x20 0x40'), S('tagdrift_mirror_lag_limit_seconds{node="n1",job="tagdrift"}', '1800x60')],
    eval: '40m',
  },
  // …nor one behind for 40 minutes on a node whose limit is an hour.
  {
    alert: 'TagdriftMirrorLagging',
    series: [S('tagdrift_mirror_lag_seconds{mirror="mirror.local:5001",node="n1",job="tagdrift"}', '0+60x60'), S('tagdrift_mirror_lag_limit_seconds{node="n1",job="tagdrift"}', '3600x60')],
    eval: '40m',
  },
  { alert: 'TagdriftCachedTagStale', series: [finding('cache-stale', '3x120')], eval: '90m', fires: fire('warning', '3') },
  { alert: 'TagdriftCachedTagStale', series: [finding('cache-stale', '3x30 0x90')], eval: '90m' },
  { alert: 'TagdriftMirrorConfigIgnored', series: [finding('mirror-config-ignored', '1x60')], eval: '45m', fires: fire('warning') },
  { alert: 'TagdriftMirrorConfigIgnored', series: [finding('mirror-config-ignored', '0x60')], eval: '45m' },
  {
    alert: 'TagdriftContainerdConfigError',
    series: [finding('config-error', '1x60'), S('tagdrift_config_parse_success{node="n1",job="tagdrift"}', '1x60')],
    eval: '15m', fires: fire('critical'),
  },
  {
    alert: 'TagdriftContainerdConfigError',
    series: [finding('config-error', '0x60'), S('tagdrift_config_parse_success{node="n1",job="tagdrift"}', '1x60')],
    eval: '15m',
  },
  { alert: 'TagdriftRuntimeUnavailable', series: [S('tagdrift_runtime_up{node="n1",job="tagdrift"}', '0x60')], eval: '15m', fires: fire('critical', '0') },
  { alert: 'TagdriftRuntimeUnavailable', series: [S('tagdrift_runtime_up{node="n1",job="tagdrift"}', '1x60')], eval: '15m' },
  {
    alert: 'TagdriftScansFailing',
    series: [S('tagdrift_last_successful_scan_timestamp_seconds{node="n1",job="tagdrift"}', '0x60')],
    eval: '45m', fires: { ...fire('warning', '2700'), humanized: '45m 0s' },
  },
  { alert: 'TagdriftScansFailing', series: [S('tagdrift_last_successful_scan_timestamp_seconds{node="n1",job="tagdrift"}', '0+60x60')], eval: '45m' },
  {
    alert: 'TagdriftAgentMissing',
    series: [
      S('kube_daemonset_status_desired_number_scheduled{daemonset="tagdrift",namespace="tagdrift",job="kube-state-metrics"}', '3x60'),
      S('kube_daemonset_status_number_ready{daemonset="tagdrift",namespace="tagdrift",job="kube-state-metrics"}', '2x60'),
      S('tagdrift_build_info{version="0.1.0",nodejs="26.12.1",node="n1",job="whatever-the-scrape-config-says"}', '1x60'),
    ],
    eval: '30m', fires: fire('warning', '1', { daemonset: 'tagdrift', namespace: 'tagdrift', job: 'kube-state-metrics' }),
  },
  {
    alert: 'TagdriftAgentMissing',
    series: [S('kube_daemonset_status_desired_number_scheduled{daemonset="tagdrift",namespace="tagdrift",job="kube-state-metrics"}', '3x60')],
    eval: '30m', fires: fire('warning', '1', {}),
  },
  {
    alert: 'TagdriftAgentMissing',
    series: [
      S('kube_daemonset_status_desired_number_scheduled{daemonset="tagdrift",namespace="tagdrift",job="kube-state-metrics"}', '3x60'),
      S('kube_daemonset_status_number_ready{daemonset="tagdrift",namespace="tagdrift",job="kube-state-metrics"}', '3x60'),
      S('tagdrift_build_info{version="0.1.0",nodejs="26.12.1",node="n1",job="whatever-the-scrape-config-says"}', '1x60'),
    ],
    eval: '30m',
  },
  { alert: 'TagdriftTagChecksFailing', series: [S('tagdrift_findings{code="check-failed",severity="info",node="n1",job="tagdrift"}', '4x200')], eval: '150m', fires: fire('info', '4') },
  { alert: 'TagdriftResolverDeferring', series: [S('tagdrift_resolver_answers_total{result="over-budget",pod="r-1",job="tagdrift-resolver"}', '0+60x90')], eval: '60m', fires: fire('info', '1', {}) },
  { alert: 'TagdriftResolverDeferring', series: [S('tagdrift_resolver_answers_total{result="over-budget",pod="r-1",job="tagdrift-resolver"}', '5x90')], eval: '60m' },
  { alert: 'TagdriftResolverUnavailable', series: [S('kube_deployment_status_replicas_available{deployment="tagdrift-resolver",namespace="tagdrift",job="kube-state-metrics"}', '0x30')], eval: '20m', fires: fire('warning', '0', { namespace: 'tagdrift' }) },
  { alert: 'TagdriftResolverUnavailable', series: [S('kube_deployment_status_replicas_available{deployment="tagdrift-resolver",namespace="tagdrift",job="kube-state-metrics"}', '2x30')], eval: '20m' },
  { alert: 'TagdriftTagChecksFailing', series: [S('tagdrift_findings{code="check-failed",severity="info",node="n1",job="tagdrift"}', '0x200')], eval: '150m' },
];

/** Renders the few template forms the rules use. */
function render(text: string, labels: Record<string, string>, value: string, humanized?: string): string {
  return text
    .replace(/\{\{ \$value \| humanizeDuration \}\}/g, humanized ?? value)
    .replace(/\{\{ \$value \}\}/g, value)
    .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => labels[k] ?? '');
}

describe('promtool test rules', () => {
  it('has a firing and a non-firing case for every alert', () => {
    for (const r of rules) {
      expect(CASES.some((c) => c.alert === r.alert && c.fires), `${r.alert} firing case`).toBe(true);
      expect(CASES.some((c) => c.alert === r.alert && !c.fires), `${r.alert} non-firing case`).toBe(true);
    }
  });

  it('every case passes', () => {
    const tests = CASES.map((c) => {
      const rule = rules.find((r) => r.alert === c.alert)!;
      const exp = c.fires
        ? [{
            exp_labels: c.fires.labels,
            exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, render(v, c.fires!.labels, c.fires!.value, c.fires!.humanized)])),
          }]
        : [];
      return { interval: '1m', input_series: c.series, alert_rule_test: [{ eval_time: c.eval, alertname: c.alert, exp_alerts: exp }] };
    });
    const file = join(dir, 'tagdrift.rules.test.yaml');
    writeFileSync(file, yaml.dump({ rule_files: [RULES_FILE.pathname], evaluation_interval: '1m', tests }, { lineWidth: 1000 }));
    expect(promtool(['test', 'rules', file])).toContain('SUCCESS');
  });
});
