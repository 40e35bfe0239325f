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
import { DEFAULT_MUTABLE_TAG_PATTERNS, type AnalyzeOptions, type CheckContext } from '../checks/types.js';
import { indexImages, joinContainers } from './join.js';

export const DEFAULT_ANALYZE_OPTIONS: AnalyzeOptions = { mutableTagPatterns: DEFAULT_MUTABLE_TAG_PATTERNS };

function status(o: Outcome<unknown>): SourceStatus {
  return o.ok
    ? { ok: true, durationMs: o.durationMs }
    : { ok: false, durationMs: o.durationMs, error: { kind: o.error.kind, message: o.error.message } };
}

export function analyze(snapshot: NodeSnapshot, options: AnalyzeOptions = DEFAULT_ANALYZE_OPTIONS): Report {
  const images = snapshot.images.ok ? snapshot.images.value : [];
  const index = indexImages(images);
  const containers = joinContainers(snapshot, index);
  const ctx: CheckContext = { snapshot, index, containers, options };
  const findings: Finding[] = CHECKS.flatMap((check) => check(ctx));
  findings.sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      a.code.localeCompare(b.code) ||
      (a.image ?? '').localeCompare(b.image ?? ''),
  );
  const summary = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) summary[f.severity] += 1;

  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    node: snapshot.node,
    generatedAt: snapshot.collectedAt,
    runtime: snapshot.runtime.ok ? snapshot.runtime.value : null,
    intentSource: snapshot.pods.ok ? 'kubernetes' : 'cri-only',
    sources: {
      runtime: status(snapshot.runtime),
      images: status(snapshot.images),
      containers: status(snapshot.containers),
      pods: status(snapshot.pods),
    },
    images: images.map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size })),
    containers: containers.map((v) => ({
      id: v.record.id,
      namespace: v.pod?.namespace ?? v.record.podNamespace,
      pod: v.pod?.name ?? v.record.podName,
      container: v.record.name,
      image: v.requested ? formatRef(v.requested) : undefined,
      imageSource: v.requestedSource,
      imageId: v.imageId,
      runningDigest: v.runningDigest,
      state: v.record.state,
      pullPolicy: v.pullPolicy,
      owner: v.owner,
    })),
    findings,
    summary,
  };
}
