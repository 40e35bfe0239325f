/** Helpers shared by checks: grouping containers and writing kubectl commands for their workloads. */
import { SHA256_DIGEST, shellWord } from '../domain/shell.js';
import { gitOpsFix } from '../domain/gitops.js';
import type { ContainerRefInFinding } from '../domain/report.js';
import type { ContainerView } from '../domain/join.js';
import type { CheckContext } from './types.js';

const ROLLOUT_KINDS: Record<string, string> = {
  Deployment: 'deployment',
  StatefulSet: 'statefulset',
  DaemonSet: 'daemonset',
};

export function containerRef(v: ContainerView): ContainerRefInFinding {
  return {
    namespace: v.pod?.namespace ?? v.record.podNamespace,
    pod: v.pod?.name ?? v.record.podName,
    container: v.record.name,
  };
}

function uniqueBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(key(item))) seen.set(key(item), item);
  return [...seen.values()];
}

/** One line per workload: `kubectl -n NS rollout restart deployment/NAME`, or a pod delete for other owners. */
export function restartCommands(views: readonly ContainerView[]): string[] {
  return uniqueBy(views, (v) => workloadKey(v)).map((v) => {
    const ns = v.pod?.namespace ?? v.record.podNamespace ?? 'default';
    const kind = v.owner ? ROLLOUT_KINDS[v.owner.kind] : undefined;
    if (v.owner && kind) return `kubectl -n ${shellWord(ns)} rollout restart ${shellWord(`${kind}/${v.owner.name}`)}`;
    const pod = v.pod?.name ?? v.record.podName;
    if (v.owner && pod) return `kubectl -n ${shellWord(ns)} delete pod ${shellWord(pod)}   # ${oneLine(v.owner.kind)}/${oneLine(v.owner.name)} recreates it`;
    if (pod) return `recreate pod ${ns}/${pod} (it has no controller that would restart it)`;
    return `restart container ${v.record.id.slice(0, 12)}`;
  });
}

/** Text after a `#` stays a comment: no line break can end it. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** True when the container's owner is a workload `kubectl set image` can change. */
export function canPin(v: ContainerView): boolean {
  return v.owner !== undefined && ROLLOUT_KINDS[v.owner.kind] !== undefined;
}

/**
 * Pinning each workload's container to a digest, where the owner is known: `kubectl set image`,
 * or, for a workload a GitOps controller syncs, the digest pinned in its source and the sync.
 */
export function pinCommands(ctx: Pick<CheckContext, 'snapshot'>, views: readonly ContainerView[], name: string, digest: string): string[] {
  if (!SHA256_DIGEST.test(digest)) return [];
  const seen = new Set<string>();
  return uniqueBy(views, (v) => `${workloadKey(v)}|${v.record.name}`).flatMap((v) => {
    const kind = v.owner ? ROLLOUT_KINDS[v.owner.kind] : undefined;
    if (!v.owner || !kind) return [];
    const ns = v.pod?.namespace ?? 'default';
    const manager = ctx.snapshot.workloadManagers?.[`${ns}/${v.owner.kind}/${v.owner.name}`];
    if (manager) {
      const key = `${ns}/${v.owner.kind}/${v.owner.name}`;
      if (seen.has(key)) return [];
      seen.add(key);
      return gitOpsFix(manager, `${v.owner.kind} ${ns}/${v.owner.name}`, name, digest);
    }
    return [`kubectl -n ${shellWord(ns)} set image ${shellWord(`${kind}/${v.owner.name}`)} ${shellWord(`${v.record.name}=${name}@${digest}`)}`];
  });
}

export function workloadKey(v: ContainerView): string {
  const ns = v.pod?.namespace ?? v.record.podNamespace ?? '';
  if (v.owner) return `${ns}/${v.owner.kind}/${v.owner.name}`;
  return `${ns}/Pod/${v.pod?.name ?? v.record.podName ?? v.record.id}`;
}

export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `{<prefix>Build: meta}` when the snapshot has build metadata for the image, else nothing. */
export function buildMeta(ctx: CheckContext, prefix: string, imageId: string | undefined): Record<string, unknown> {
  const meta = imageId ? ctx.snapshot.imageMeta[imageId] : undefined;
  return meta && Object.keys(meta).length > 0 ? { [`${prefix}Build`]: meta } : {};
}
