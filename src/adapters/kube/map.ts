/**
 * Pure mapping from a Kubernetes Pod (as @kubernetes/client-node deserialises it,
 * camelCase) to the pod intent tagdrift needs: the image as written, the pull
 * policy, the owning workload, and the runtime container IDs for the join.
 */
import { ALL_FINDING_CODES } from '../../domain/finding-codes.js';
import type { PodContainerIntent, PodOwner, PodRecord, PullPolicy } from '../../domain/snapshot.js';

interface KContainer {
  name?: string;
  image?: string;
  imagePullPolicy?: string;
}
interface KContainerStatus {
  name?: string;
  containerID?: string;
  imageID?: string;
}
interface KOwnerRef {
  kind?: string;
  name?: string;
  controller?: boolean;
}
export interface KPod {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, unknown>; ownerReferences?: KOwnerRef[] };
  spec?: { nodeName?: string; containers?: KContainer[]; initContainers?: KContainer[]; ephemeralContainers?: KContainer[] };
  status?: {
    containerStatuses?: KContainerStatus[];
    initContainerStatuses?: KContainerStatus[];
    ephemeralContainerStatuses?: KContainerStatus[];
  };
}

const POLICIES: readonly string[] = ['Always', 'IfNotPresent', 'Never'];

/** `containerd://<id>` → `<id>` (any runtime scheme). */
export function stripRuntimeScheme(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

/**
 * The controlling owner. A ReplicaSet created by a Deployment is named
 * `<deployment>-<pod-template-hash>`, and its pods carry that hash as a label, so
 * the Deployment is derived without reading the ReplicaSet.
 */
export function resolveOwner(meta: KPod['metadata']): PodOwner | undefined {
  const refs = meta?.ownerReferences ?? [];
  const ref = refs.find((r) => r.controller) ?? refs[0];
  if (!ref?.kind || !ref.name) return undefined;
  const hash = meta?.labels?.['pod-template-hash'];
  if (ref.kind === 'ReplicaSet' && hash && ref.name.endsWith(`-${hash}`)) {
    return { kind: 'Deployment', name: ref.name.slice(0, -(hash.length + 1)) };
  }
  return { kind: ref.kind, name: ref.name };
}

function intents(
  specs: KContainer[] | undefined,
  statuses: KContainerStatus[] | undefined,
  kind: PodContainerIntent['kind'],
): PodContainerIntent[] {
  const byName = new Map((statuses ?? []).map((s) => [s.name ?? '', s]));
  return (specs ?? [])
    .filter((c) => c.name && c.image)
    .map((c) => {
      const status = byName.get(c.name!);
      return {
        name: c.name!,
        image: c.image!,
        imagePullPolicy: POLICIES.includes(c.imagePullPolicy ?? '') ? (c.imagePullPolicy as PullPolicy) : undefined,
        kind,
        containerId: stripRuntimeScheme(status?.containerID),
        statusImageId: status?.imageID || undefined,
      };
    });
}

/** The annotation on a pod (its workload's template) naming finding codes to silence for it. */
export const SILENCE_ANNOTATION = 'tagdrift.dev/silence';

/** Known finding codes listed in the annotation (comma-separated); unknown words are ignored. */
export function silencedCodes(value: unknown): string[] {
  if (typeof value !== 'string' || value.length > 1024) return [];
  return [...new Set(value.split(',').map((c) => c.trim()).filter((c) => (ALL_FINDING_CODES as readonly string[]).includes(c)))];
}

export function mapPod(pod: KPod): PodRecord {
  const silenced = silencedCodes(pod.metadata?.annotations?.[SILENCE_ANNOTATION]);
  return {
    ...(silenced.length > 0 ? { silenced } : {}),
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    nodeName: pod.spec?.nodeName,
    owner: resolveOwner(pod.metadata),
    containers: [
      ...intents(pod.spec?.containers, pod.status?.containerStatuses, 'container'),
      ...intents(pod.spec?.initContainers, pod.status?.initContainerStatuses, 'init'),
      ...intents(pod.spec?.ephemeralContainers, pod.status?.ephemeralContainerStatuses, 'ephemeral'),
    ],
  };
}
