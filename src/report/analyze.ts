/**
 * analyze(snapshot, options) → Report. Synchronous and pure: no I/O, no clock
 * (generatedAt is the snapshot's collection time), so the same snapshot always
 * gives the same report.
 */
import { formatRef } from '../domain/image-ref.js';
import { SEVERITIES, severityRank, type Severity } from '../domain/finding-codes.js';
import { REPORT_SCHEMA_VERSION, type Finding, type Report, type SourceStatus } from '../domain/report.js';
import type { NodeSnapshot, Outcome } from '../domain/snapshot.js';
import { CHECKS } from '../checks/index.js';
import { registryView, type NodeRegistryConfig } from '../runtimes/profile.js';
import { deriveView, type SnapshotView } from './view.js';
import type { AnalyzeOptions, CheckContext } from '../checks/types.js';
import { DEFAULT_MUTABLE_TAG_PATTERNS } from '../domain/mutable-tags.js';
import { type TagAnswer, type TagResolved, type TagTruth } from '../domain/tag-truth.js';
import { type ContainerView } from '../domain/join.js';
import type { RegistriesSection } from '../domain/report.js';
import { tryParseImageRef } from '../domain/image-ref.js';

export const DEFAULT_ANALYZE_OPTIONS: AnalyzeOptions = { mutableTagPatterns: DEFAULT_MUTABLE_TAG_PATTERNS };

function status(o: Outcome<unknown>): SourceStatus {
  return o.ok
    ? { ok: true, durationMs: o.durationMs }
    : { ok: false, durationMs: o.durationMs, error: { kind: o.error.kind, message: o.error.message } };
}

/**
 * `derived`: the joins and views of this snapshot when the scan already built them (it builds them
 * once, before asking the registries); without it they are built here.
 */
export function analyze(snapshot: NodeSnapshot, options: AnalyzeOptions = DEFAULT_ANALYZE_OPTIONS, derived?: SnapshotView): Report {
  const images = snapshot.images.ok ? snapshot.images.value : [];
  const { index, containers, registry, truth, nodeImageFor } = derived ?? deriveView(snapshot);
  const registries = registry?.section(registriesNamed(containers, images.flatMap((i) => i.repoTags)));
  const ctx: CheckContext = { snapshot, index, containers, options, ...(registry ? { registry } : {}), registryPlans: registries?.registries ?? [], truth, nodeImageFor };
  const silencedBy = silences(snapshot);
  const findings: Finding[] = CHECKS.flatMap((check) => check(ctx)).map((f) => withSilence(withConfirmation(f, truth), silencedBy));
  findings.sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      a.code.localeCompare(b.code) ||
      (a.image ?? '').localeCompare(b.image ?? ''),
  );
  const summary = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) if (!f.silenced) summary[f.severity] += 1;

  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    node: snapshot.node,
    ...(snapshot.platform ? { platform: snapshot.platform } : {}),
    generatedAt: snapshot.collectedAt,
    runtime: snapshot.runtime.ok ? snapshot.runtime.value : null,
    intentSource: snapshot.pods.ok ? 'kubernetes' : 'cri-only',
    sources: {
      runtime: status(snapshot.runtime),
      images: status(snapshot.images),
      containers: status(snapshot.containers),
      pods: status(snapshot.pods),
      ...(snapshot.registryConfig ? { registryConfig: status(snapshot.registryConfig) } : {}),
    },
    images: images.map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size })),
    containers: containers.map((v) => ({
      id: v.record.id,
      namespace: v.pod?.namespace ?? v.record.podNamespace,
      pod: v.pod?.name ?? v.record.podName,
      ...((v.pod?.uid ?? v.record.podUid) ? { podUid: v.pod?.uid ?? v.record.podUid } : {}),
      container: v.record.name,
      image: v.requested ? formatRef(v.requested) : undefined,
      imageSource: v.requestedSource,
      imageId: v.imageId,
      runningDigest: v.runningDigest,
      state: v.record.state,
      pullPolicy: v.pullPolicy,
      owner: v.owner,
    })),
    ...(registries ? { registries } : {}),
    ...(snapshot.registryTruth ? { registryTruth: snapshot.registryTruth } : {}),
    ...(snapshot.registryTagsDeferred ? { registryTagsDeferred: snapshot.registryTagsDeferred } : {}),
    findings,
    summary,
  };
}

/** namespace/pod → codes its annotation silences. */
function silences(snapshot: NodeSnapshot): Map<string, ReadonlySet<string>> {
  const out = new Map<string, ReadonlySet<string>>();
  if (snapshot.pods.ok) for (const p of snapshot.pods.value) if (p.silenced?.length) out.set(`${p.namespace}/${p.name}`, new Set(p.silenced));
  return out;
}

/** Silenced when every pod the finding names silences its code; a finding about no pod is never silenced. */
function withSilence(f: Finding, silencedBy: ReadonlyMap<string, ReadonlySet<string>>): Finding {
  if (silencedBy.size === 0 || f.containers.length === 0) return f;
  const pods = [...new Set(f.containers.map((c) => `${c.namespace}/${c.pod}`))];
  if (!pods.every((p) => silencedBy.get(p)?.has(f.code))) return f;
  return { ...f, silenced: { by: `annotation tagdrift.dev/silence on ${pods.length === 1 ? `pod ${pods[0]}` : `${pods.length} pods`}` } };
}

/** A finding about a checked tag says when its registry evidence was confirmed, and what was held through a failure. */
function withConfirmation(f: Finding, truth: ReadonlyMap<string, TagTruth>): Finding {
  const t = f.image !== undefined ? truth.get(f.image) : undefined;
  if (!t) return f;
  const used = [t.resolver, t.upstream].filter((a): a is TagAnswer => a !== undefined && a.result.ok);
  const times = used.map((a) => (a.result as TagResolved).confirmedAt).filter((x): x is string => x !== undefined).sort();
  if (times.length === 0) return f;
  const held = [...new Set(used.filter((a) => (a.result as TagResolved).held).map((a) => {
    const h = (a.result as TagResolved).held!;
    return `${a.endpoint}: ${h.kind} (${h.message})`;
  }))];
  return { ...f, confirmed: { at: times[0]!, ...(held.length > 0 ? { heldThrough: held } : {}) } };
}

/** Registries the node's workloads and cached images name. */
function registriesNamed(containers: readonly ContainerView[], tags: readonly string[]): string[] {
  const names = new Set<string>();
  for (const c of containers) if (c.requested) names.add(c.requested.registry);
  for (const t of tags) {
    const ref = tryParseImageRef(t);
    if (ref) names.add(ref.registry);
  }
  return [...names];
}

/** The registry-configuration part of a report on its own (`tagdrift registries`: no runtime needed). */
export function analyzeRegistryConfig(config: NodeRegistryConfig, extraRegistries: readonly string[] = []): { registries: RegistriesSection; findings: Finding[] } {
  const view = registryView(config);
  const registries = view.section(extraRegistries);
  return { registries, findings: view.findings(registries.registries) };
}
