/**
 * The collector: asks every source once, concurrently, and records each answer as
 * an Outcome (value or classified error, with its duration). It never throws for a
 * source failure: a node whose runtime is down still gets a snapshot.
 */
import type { ImageBuildMeta, NodeSnapshot, Outcome } from '../domain/snapshot.js';
import { analyze } from '../report/analyze.js';
import type { AnalyzeOptions } from '../checks/types.js';
import type { Report } from '../domain/report.js';
import { SourceFailure, type PodSource, type RegistryLookup, type RuntimeClient } from './ports.js';
import { indexImages, joinContainers } from '../domain/join.js';
import { capTagChecks, planTagChecks } from '../domain/tag-plan.js';
import { plannerOf, profileFor, registryView } from '../runtimes/profile.js';
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

/** At most this many ImageStatus(verbose) calls per scan, for build metadata. */
export const MAX_META_LOOKUPS = 32;

/** Image IDs whose build metadata would explain a finding. */
export function imagesNeedingMeta(report: Report): string[] {
  const ids = new Set<string>();
  for (const f of report.findings) {
    for (const key of ['runningImageId', 'nodeImageId', 'cachedImageId']) {
      const id = f.evidence[key];
      if (typeof id === 'string') ids.add(id);
    }
  }
  return [...ids].slice(0, MAX_META_LOOKUPS);
}

/**
 * One scan: collect, analyze, then fetch build metadata only for the images a
 * finding is about and analyze again (analysis is pure and cheap).
 */
export async function scanNode(
  deps: CollectDeps,
  options: CollectOptions,
  analyzeOptions?: AnalyzeOptions,
): Promise<{ snapshot: NodeSnapshot; report: Report }> {
  let snapshot = await collectSnapshot(deps, options);
  if (deps.registry) {
    const { answers, deferred } = await askRegistries(snapshot, deps.registry, deps.registryMaxTags ?? DEFAULT_REGISTRY_MAX_TAGS);
    snapshot = { ...snapshot, registryTruth: answers, ...(deferred > 0 ? { registryTagsDeferred: deferred } : {}) };
  }
  let report = analyze(snapshot, analyzeOptions);
  const rt = deps.runtime;
  const pods = deps.pods;
  const wanted = rt instanceof SourceFailure ? [] : imagesNeedingMeta(report);
  const workloads = pods instanceof SourceFailure || !pods.workloadMetadata ? [] : workloadsNeedingManager(report);
  if (wanted.length > 0 || workloads.length > 0) {
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
    report = analyze(snapshot, analyzeOptions);
  }
  return { snapshot, report };
}

/** At most this many workloads asked about per scan, for who syncs them (GitOps). */
export const MAX_WORKLOAD_LOOKUPS = 16;

/** Workloads a running-* fix would change: whose GitOps controller, if any, decides what the fix says. */
export function workloadsNeedingManager(report: Report): { namespace: string; kind: string; name: string }[] {
  const byRef = new Map(report.containers.map((c) => [`${c.namespace}/${c.pod}/${c.container}`, c]));
  const out = new Map<string, { namespace: string; kind: string; name: string }>();
  for (const f of report.findings) {
    if (f.code !== 'running-stale' && f.code !== 'running-superseded') continue;
    for (const ref of f.containers) {
      const c = byRef.get(`${ref.namespace}/${ref.pod}/${ref.container}`);
      if (!c?.namespace || !c.owner || !['Deployment', 'StatefulSet', 'DaemonSet'].includes(c.owner.kind)) continue;
      out.set(`${c.namespace}/${c.owner.kind}/${c.owner.name}`, { namespace: c.namespace, kind: c.owner.kind, name: c.owner.name });
    }
  }
  return [...out.values()].slice(0, MAX_WORKLOAD_LOOKUPS);
}

export const DEFAULT_REGISTRY_MAX_TAGS = 500;

/** The tag checks this snapshot calls for (capped), asked of the endpoints the node's configuration names. */
export async function askRegistries(
  snapshot: NodeSnapshot,
  lookup: RegistryLookup,
  maxTags = DEFAULT_REGISTRY_MAX_TAGS,
): Promise<{ answers: TagAnswer[]; deferred: number }> {
  const images = snapshot.images.ok ? snapshot.images.value : [];
  const containers = joinContainers(snapshot, indexImages(images));
  const plans = planTagChecks(containers, images, plannerOf(snapshot.registryConfig?.ok ? registryView(snapshot.registryConfig.value) : undefined));
  // The window of cached-only tags moves every 5 minutes of collection time.
  const rotation = Math.floor(Date.parse(snapshot.collectedAt) / 300_000);
  const capped = capTagChecks(plans, maxTags, Number.isFinite(rotation) ? rotation : 0);
  return { answers: await collectRegistryTruth(capped.plans, lookup), deferred: capped.deferred };
}
