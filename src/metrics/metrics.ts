/**
 * Prometheus metrics on their own registry. Node-level gauges are set once per scan
 * from the report; a scrape only serialises them (no CRI or registry call). No label
 * carries an image, tag, digest or pod: the series count does not grow with the
 * number of images. Workloads with findings get a series each (namespace, owner), capped;
 * registry hosts are the registries this node's configuration and workloads name, capped.
 */
import client from 'prom-client';
import { ALL_FINDING_CODES, SEVERITIES } from '../domain/finding-codes.js';
import { isStale, mirrorLagOf } from '../domain/evidence.js';
import type { Report } from '../domain/report.js';
import type { RegistryStats } from '../domain/tag-truth.js';

export const MAX_REGISTRY_HOSTS = 50;
/** Workload series per agent: only workloads with findings get one; the rest are counted in an overflow series. */
export const MAX_WORKLOAD_SERIES = 300;

export interface WorkloadCount {
  readonly namespace: string;
  readonly ownerKind: string;
  readonly ownerName: string;
  readonly code: string;
  readonly severity: string;
  readonly containers: number;
}

/**
 * Findings about containers, counted per workload (namespace, owner kind and name; a bare
 * pod is its own owner) and code: what an alert needs to reach the team that owns the
 * workload. At most `max` series; the containers of the rest are returned as `dropped`.
 */
export function workloadFindingCounts(report: Report, max = MAX_WORKLOAD_SERIES): { series: WorkloadCount[]; dropped: Map<string, number> } {
  const owners = new Map<string, { kind: string; name: string }>();
  for (const c of report.containers) {
    if (c.namespace && c.pod) owners.set(`${c.namespace}/${c.pod}/${c.container}`, c.owner ?? { kind: 'Pod', name: c.pod });
  }
  const counts = new Map<string, WorkloadCount>();
  for (const f of report.findings) {
    if (f.silenced) continue;
    for (const ref of f.containers) {
      if (!ref.namespace || !ref.pod) continue;
      const owner = owners.get(`${ref.namespace}/${ref.pod}/${ref.container}`) ?? { kind: 'Pod', name: ref.pod };
      const key = `${ref.namespace}\u0000${owner.kind}\u0000${owner.name}\u0000${f.code}\u0000${f.severity}`;
      const cur = counts.get(key);
      counts.set(key, { namespace: ref.namespace, ownerKind: owner.kind, ownerName: owner.name, code: f.code, severity: f.severity, containers: (cur?.containers ?? 0) + 1 });
    }
  }
  // Most severe first, so a cap never hides a critical finding behind warnings.
  const rank: Record<string, number> = { critical: 0, warning: 1, info: 2 };
  const all = [...counts.values()].sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3) || b.containers - a.containers || a.namespace.localeCompare(b.namespace) || a.ownerName.localeCompare(b.ownerName));
  const dropped = new Map<string, number>();
  for (const w of all.slice(max)) dropped.set(`${w.code}\u0000${w.severity}`, (dropped.get(`${w.code}\u0000${w.severity}`) ?? 0) + w.containers);
  return { series: all.slice(0, max), dropped };
}

export interface BuildInfo {
  readonly version: string;
}

export class Metrics {
  readonly registry = new client.Registry();
  private readonly findings: client.Gauge<'code' | 'severity'>;
  private readonly workloadFindings: client.Gauge<'namespace' | 'owner_kind' | 'owner_name' | 'code' | 'severity'>;
  private readonly workloadDropped: client.Gauge<'code' | 'severity'>;
  private readonly images: client.Gauge<'status'>;
  private readonly tags: client.Gauge<'result'>;
  private readonly runtimeUp: client.Gauge;
  private readonly podIntentUp: client.Gauge;
  private readonly configOk: client.Gauge;
  private readonly runtimeRequests: client.Counter<'method' | 'code'>;
  private readonly runtimeDuration: client.Histogram<'method'>;
  private readonly registryRequests: client.Counter<'host' | 'code'>;
  private readonly rateLimit: client.Gauge<'host'>;
  private readonly scanDuration: client.Histogram;
  private readonly scans: client.Counter<'result'>;
  private readonly lastSuccess: client.Gauge;
  private readonly hosts = new Set<string>();
  private readonly mirrorLag: client.Gauge<'mirror'>;

  constructor(build: BuildInfo, options: { processMetrics?: boolean; mirrorLagLimitSeconds?: number } = {}) {
    const r = [this.registry];
    this.mirrorLag = new client.Gauge({
      name: 'tagdrift_mirror_lag_seconds',
      help: "For each mirror this node resolves tags through: how long it has answered a tag's old digest since upstream moved (the largest over its tags; 0 when it answers what upstream does).",
      labelNames: ['mirror'], registers: r,
    });
    new client.Gauge({ name: 'tagdrift_mirror_lag_limit_seconds', help: 'How long a mirror may stay behind upstream before TagdriftMirrorLagging fires (--mirror-max-lag).', registers: r })
      .set(options.mirrorLagLimitSeconds ?? 1800);
    this.findings = new client.Gauge({ name: 'tagdrift_findings', help: 'Findings in the latest scan, by code and severity.', labelNames: ['code', 'severity'], registers: r });
    for (const code of ALL_FINDING_CODES) for (const severity of SEVERITIES) this.findings.set({ code, severity }, 0);
    this.workloadFindings = new client.Gauge({
      name: 'tagdrift_workload_findings',
      help: `Containers of a workload named by a finding in the latest scan, by namespace, owner and code (only workloads with findings; at most ${MAX_WORKLOAD_SERIES} series, the rest in tagdrift_workload_findings_overflow).`,
      labelNames: ['namespace', 'owner_kind', 'owner_name', 'code', 'severity'],
      registers: r,
    });
    this.workloadDropped = new client.Gauge({ name: 'tagdrift_workload_findings_overflow', help: 'Containers with findings whose workload got no tagdrift_workload_findings series (over the cap), by code and severity.', labelNames: ['code', 'severity'], registers: r });
    this.images = new client.Gauge({ name: 'tagdrift_images', help: 'Images cached on the node, by whether a running container uses them.', labelNames: ['status'], registers: r });
    for (const status of ['in_use', 'unused']) this.images.set({ status }, 0);
    this.tags = new client.Gauge({ name: 'tagdrift_tags_checked', help: 'Tags asked of registries in the latest scan, by upstream result.', labelNames: ['result'], registers: r });
    for (const result of ['fresh', 'stale', 'unverified']) this.tags.set({ result }, 0);
    this.runtimeUp = new client.Gauge({ name: 'tagdrift_runtime_up', help: '1 when the container runtime answered CRI v1 in the latest scan.', registers: r });
    this.podIntentUp = new client.Gauge({ name: 'tagdrift_pod_intent_up', help: '1 when the pods of this node were read from the Kubernetes API in the latest scan.', registers: r });
    this.configOk = new client.Gauge({ name: 'tagdrift_config_parse_success', help: "1 when containerd's registry configuration was read and has no config-error.", registers: r });
    this.runtimeRequests = new client.Counter({ name: 'tagdrift_runtime_requests_total', help: 'CRI calls by method and gRPC status.', labelNames: ['method', 'code'], registers: r });
    this.runtimeDuration = new client.Histogram({
      name: 'tagdrift_runtime_request_duration_seconds', help: 'CRI call latency by method.', labelNames: ['method'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: r,
    });
    this.registryRequests = new client.Counter({ name: 'tagdrift_registry_requests_total', help: 'Registry HTTP exchanges by host and status code (or transport error).', labelNames: ['host', 'code'], registers: r });
    this.rateLimit = new client.Gauge({ name: 'tagdrift_registry_ratelimit_remaining', help: 'Last ratelimit-remaining a registry (Docker Hub) reported.', labelNames: ['host'], registers: r });
    this.scanDuration = new client.Histogram({ name: 'tagdrift_scan_duration_seconds', help: 'Duration of a whole scan.', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: r });
    this.scans = new client.Counter({ name: 'tagdrift_scans_total', help: 'Scans by result (failure: the runtime could not be scanned).', labelNames: ['result'], registers: r });
    for (const result of ['success', 'failure']) this.scans.inc({ result }, 0);
    this.lastSuccess = new client.Gauge({ name: 'tagdrift_last_successful_scan_timestamp_seconds', help: 'Unix time of the last scan in which the runtime answered.', registers: r });
    new client.Gauge({ name: 'tagdrift_build_info', help: 'Build information.', labelNames: ['version', 'nodejs'], registers: r }).set({ version: build.version, nodejs: process.versions.node }, 1);
    if (options.processMetrics !== false) client.collectDefaultMetrics({ register: this.registry });
  }

  /** Hook for the CRI client's onCall. */
  observeRuntimeCall = (method: string, code: string, seconds: number): void => {
    this.runtimeRequests.inc({ method, code });
    this.runtimeDuration.observe({ method }, seconds);
  };

  /** Hook for the registry client's onRequest. */
  observeRegistryRequest = (host: string, _method: string, code: string): void => {
    this.registryRequests.inc({ host: this.hostLabel(host), code });
  };

  /** Updates every node gauge from a finished scan. */
  updateFromScan(report: Report, durationMs: number, ok: boolean, registry?: RegistryStats): void {
    this.findings.reset();
    for (const code of ALL_FINDING_CODES) for (const severity of SEVERITIES) this.findings.set({ code, severity }, 0);
    for (const f of report.findings) if (!f.silenced) this.findings.inc({ code: f.code, severity: f.severity });
    const workloads = workloadFindingCounts(report);
    this.workloadFindings.reset();
    for (const w of workloads.series) this.workloadFindings.set({ namespace: w.namespace, owner_kind: w.ownerKind, owner_name: w.ownerName, code: w.code, severity: w.severity }, w.containers);
    this.workloadDropped.reset();
    for (const [key, n] of workloads.dropped) {
      const [code, severity] = key.split('\u0000') as [string, string];
      this.workloadDropped.set({ code, severity }, n);
    }
    const used = new Set(report.containers.filter((c) => c.state === 'running' && c.imageId).map((c) => c.imageId));
    const inUse = report.images.filter((i) => used.has(i.id)).length;
    this.images.set({ status: 'in_use' }, inUse);
    this.images.set({ status: 'unused' }, report.images.length - inUse);
    const stale = new Set(report.findings.filter(isStale).map((f) => f.image));
    let fresh = 0;
    let staleCount = 0;
    let unverified = 0;
    for (const a of report.registryTruth ?? []) {
      if (a.role !== 'upstream') continue;
      const key = `${a.registry}/${a.repository}:${a.tag}`;
      if (!a.result.ok) unverified += 1;
      else if (stale.has(key)) staleCount += 1;
      else fresh += 1;
    }
    this.tags.set({ result: 'fresh' }, fresh);
    this.tags.set({ result: 'stale' }, staleCount);
    this.tags.set({ result: 'unverified' }, unverified);
    this.runtimeUp.set(report.sources.runtime.ok ? 1 : 0);
    this.podIntentUp.set(report.sources.pods.ok ? 1 : 0);
    const lags = new Map<string, number>();
    for (const a of report.registryTruth ?? []) if (a.role === 'mirror' && a.result.ok) lags.set(this.hostLabel(hostOf(a.endpoint)), 0);
    for (const f of report.findings) {
      const lag = mirrorLagOf(f);
      if (f.code !== 'mirror-stale' || f.silenced || !lag) continue;
      const mirror = this.hostLabel(hostOf(f.evidence.endpoint));
      lags.set(mirror, Math.max(lags.get(mirror) ?? 0, lag.seconds));
    }
    this.mirrorLag.reset();
    for (const [mirror, seconds] of lags) this.mirrorLag.set({ mirror }, seconds);
    const configOk = report.sources.registryConfig?.ok === true && !report.findings.some((f) => f.code === 'config-error');
    this.configOk.set(configOk ? 1 : 0);
    this.scanDuration.observe(durationMs / 1000);
    this.scans.inc({ result: ok ? 'success' : 'failure' });
    if (ok) this.lastSuccess.set(Date.parse(report.generatedAt) / 1000);
    if (registry) for (const [host, remaining] of registry.rateLimitRemaining) this.rateLimit.set({ host: this.hostLabel(host) }, remaining);
  }

  /** A scan that threw before producing a report. */
  scanFailed(): void {
    this.scans.inc({ result: 'failure' });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private hostLabel(host: string): string {
    if (this.hosts.has(host)) return host;
    if (this.hosts.size >= MAX_REGISTRY_HOSTS) return 'other';
    this.hosts.add(host);
    return host;
  }
}

function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).host;
  } catch {
    return 'other';
  }
}
