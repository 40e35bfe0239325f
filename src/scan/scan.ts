/**
 * A node scan in one pass: collect, join, registries, details, analyze, each entered once. The
 * collection asks every source once, concurrently, and records each answer as an Outcome (value
 * or classified error, with its duration); it never throws for a source failure: a node whose
 * runtime is down still gets a snapshot.
 */
import type { ImageBuildMeta, NodeSnapshot, Outcome } from '../domain/snapshot.js';
import { analyze } from '../report/analyze.js';
import type { AnalyzeOptions } from '../checks/types.js';
import type { Report } from '../domain/report.js';
import { SourceFailure, type PodSource, type RegistryLookup, type RuntimeClient } from '../domain/ports.js';
import { capTagChecks, planTagChecks } from '../domain/tag-plan.js';
import { plannerOf, profileFor } from '../runtimes/profile.js';
import { baseView, withTruth, type SnapshotView } from '../report/view.js';
import { planDetails } from '../domain/detail-plan.js';
import { collectRegistryTruth } from './ask-registries.js';
import type { TagAnswer } from '../domain/tag-truth.js';
import { type HostFiles } from '../adapters/node-files/host-files.js';
import { hostPlatform, platformString } from '../adapters/registry/platform.js';
import { managerFromMetadata, type WorkloadManager } from '../domain/gitops.js';

export interface CollectDeps {
  /** The runtime client, or why none could be made. */
  readonly runtime: RuntimeClient | SourceFailure;
  /** The pod source, or why none could be made. */
  readonly pods: PodSource | SourceFailure;
  readonly now: () => Date;
  /** The node's files (through --host-root); without it the registry configuration is not read. */
  readonly hostFiles?: HostFiles;
  /** Registry access; without it no tag is verified against a registry. */
  readonly registry?: RegistryLookup;
  /** At most this many tags asked per scan (running containers' tags first). */
  readonly registryMaxTags?: number;
}

export interface CollectOptions {
  readonly nodeName: string;
  readonly hostRoot?: string;
  /** Node path of config.toml. */
  readonly containerdConfig?: string;
  /** Rules to apply instead of the runtime's own version (`--runtime-version`). */
  readonly runtimeVersion?: string;
}

async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  const started = performance.now();
  try {
    const value = await fn();
    return { ok: true, value, durationMs: Math.round(performance.now() - started) };
  } catch (e) {
    const durationMs = Math.round(performance.now() - started);
    if (e instanceof SourceFailure) return { ok: false, error: { kind: e.kind, message: e.message }, durationMs };
    return { ok: false, error: { kind: 'error', message: (e as Error)?.message ?? String(e) }, durationMs };
  }
}

function failed(f: SourceFailure): Outcome<never> {
  return { ok: false, error: { kind: f.kind, message: f.message }, durationMs: 0 };
}

export async function collectSnapshot(deps: CollectDeps, options: CollectOptions): Promise<NodeSnapshot> {
  const collectedAt = deps.now().toISOString();
  const rt = deps.runtime;
  const pods = deps.pods;
  const [runtime, images, containers, podList] = await Promise.all([
    rt instanceof SourceFailure ? failed(rt) : outcome(() => rt.version()),
    rt instanceof SourceFailure ? failed(rt) : outcome(() => rt.listImages()),
    rt instanceof SourceFailure ? failed(rt) : outcome(() => rt.listContainers()),
    pods instanceof SourceFailure ? failed(pods) : outcome(() => pods.listNodePods(options.nodeName)),
  ]);
  // No pod listed for this node name, while the runtime runs Kubernetes pods: ask the API where
  // a few of them are scheduled, so the report can name the node name that would have matched.
  let podsElsewhere: NodeSnapshot['podsElsewhere'];
  if (podList.ok && podList.value.length === 0 && containers.ok && !(pods instanceof SourceFailure)) {
    const seen = new Set<string>();
    const sample = containers.value
      .filter((c) => c.podNamespace && c.podName)
      .filter((c) => !seen.has(`${c.podNamespace}/${c.podName}`) && seen.add(`${c.podNamespace}/${c.podName}`))
      .slice(0, 3);
    if (sample.length > 0) {
      podsElsewhere = await Promise.all(sample.map(async (c) => ({
        namespace: c.podNamespace!, name: c.podName!, node: pods.nodeOf ? await pods.nodeOf(c.podNamespace!, c.podName!).catch(() => undefined) : undefined,
      })));
    }
  }
  const files = deps.hostFiles;
  // The runtime's profile reads how this node resolves tags (picked once, from the CRI runtime name;
  // containerd's when the runtime did not answer: nothing else is known then).
  const profile = profileFor(runtime.ok ? runtime.value.name : undefined);
  const registryConfig = files && profile
    ? await outcome(async () =>
        profile.readConfig(files, { hostRoot: options.hostRoot ?? '/', configFile: options.containerdConfig, runtimeVersion: options.runtimeVersion }, runtime.ok ? runtime.value : undefined),
      )
    : undefined;
  return {
    schemaVersion: 1,
    node: options.nodeName,
    platform: platformString(hostPlatform()),
    collectedAt,
    runtime,
    images,
    containers,
    pods: podList,
    ...(podsElsewhere ? { podsElsewhere } : {}),
    ...(registryConfig ? { registryConfig } : {}),
    imageMeta: {},
  } as NodeSnapshot;
}

/**
 * One scan, one pass, each stage entered once, in the order the data needs it: the runtime, the
 * pods and the node's configuration (concurrently); the joins and the registry plan; the registry
 * answers; the details those answers call for (build metadata, who syncs a workload), decided from
 * the answers, not from findings; then one pure analysis. `stages` counts the stages entered.
 */
export async function scanNode(
  deps: CollectDeps,
  options: CollectOptions,
  analyzeOptions?: AnalyzeOptions,
  stages?: (stage: ScanStage) => void,
): Promise<{ snapshot: NodeSnapshot; report: Report }> {
  stages?.('collect');
  let snapshot = await collectSnapshot(deps, options);
  stages?.('join');
  const base = baseView(snapshot);
  if (deps.registry) {
    stages?.('registries');
    const { answers, deferred } = await askRegistries(snapshot, base, deps.registry, deps.registryMaxTags ?? DEFAULT_REGISTRY_MAX_TAGS);
    snapshot = { ...snapshot, registryTruth: answers, ...(deferred > 0 ? { registryTagsDeferred: deferred } : {}) };
  }
  const view = withTruth(base, snapshot);
  const rt = deps.runtime;
  const pods = deps.pods;
  const details = planDetails(view.containers, view.index, view.truth, view.nodeImageFor);
  const wanted = rt instanceof SourceFailure ? [] : details.imageIds;
  const workloads = pods instanceof SourceFailure || !pods.workloadMetadata ? [] : details.workloads;
  if (wanted.length > 0 || workloads.length > 0) {
    stages?.('details');
    const [metas, managers] = await Promise.all([
      rt instanceof SourceFailure ? [] : Promise.all(wanted.map((id) => rt.imageBuildMeta(id).catch(() => undefined))),
      Promise.all(workloads.map(async (w) => {
        const meta = await (pods as PodSource).workloadMetadata!(w.namespace, w.kind, w.name).catch(() => undefined);
        return meta === undefined ? undefined : (managerFromMetadata(meta) ?? null);
      })),
    ]);
    const imageMeta: Record<string, ImageBuildMeta> = {};
    wanted.forEach((id, i) => {
      const meta = metas[i];
      if (meta) imageMeta[id] = meta;
    });
    const workloadManagers: Record<string, WorkloadManager | null> = {};
    workloads.forEach((w, i) => {
      const m = managers[i];
      if (m !== undefined) workloadManagers[`${w.namespace}/${w.kind}/${w.name}`] = m;
    });
    snapshot = { ...snapshot, imageMeta, ...(Object.keys(workloadManagers).length > 0 ? { workloadManagers } : {}) };
  }
  stages?.('analyze');
  return { snapshot, report: analyze(snapshot, analyzeOptions, view) };
}

export type ScanStage = 'collect' | 'join' | 'registries' | 'details' | 'analyze';

export const DEFAULT_REGISTRY_MAX_TAGS = 500;

/** The tag checks this snapshot calls for (capped), asked of the endpoints the node's configuration names. */
export async function askRegistries(
  snapshot: NodeSnapshot,
  view: Pick<SnapshotView, 'containers' | 'registry'>,
  lookup: RegistryLookup,
  maxTags = DEFAULT_REGISTRY_MAX_TAGS,
): Promise<{ answers: TagAnswer[]; deferred: number }> {
  const images = snapshot.images.ok ? snapshot.images.value : [];
  const plans = planTagChecks(view.containers, images, plannerOf(view.registry));
  // The window of cached-only tags moves every 5 minutes of collection time.
  const rotation = Math.floor(Date.parse(snapshot.collectedAt) / 300_000);
  const capped = capTagChecks(plans, maxTags, Number.isFinite(rotation) ? rotation : 0);
  return { answers: await collectRegistryTruth(capped.plans, lookup), deferred: capped.deferred };
}
