/**
 * Pure mapping from CRI messages (as @grpc/proto-loader decodes them: camelCase,
 * enums as strings, int64 as strings) to domain records.
 */
import { buildMetaFromConfig } from '../../domain/build-meta.js';
import type { ContainerRecord, ContainerState, ImageBuildMeta, ImageRecord, RuntimeInfo } from '../../domain/snapshot.js';

export interface CriImageSpec {
  image?: string;
  userSpecifiedImage?: string;
}
export interface CriImage {
  id?: string;
  repoTags?: string[];
  repoDigests?: string[];
  size?: string | number;
  pinned?: boolean;
}
export interface CriContainer {
  id?: string;
  podSandboxId?: string;
  metadata?: { name?: string; attempt?: number } | null;
  image?: CriImageSpec | null;
  imageRef?: string;
  state?: string | number;
  createdAt?: string | number;
  labels?: Record<string, string>;
  imageId?: string;
}
export interface CriVersion {
  version?: string;
  runtimeName?: string;
  runtimeVersion?: string;
  runtimeApiVersion?: string;
}

const STATES: Record<string, ContainerState> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
  '0': 'created',
  '1': 'running',
  '2': 'exited',
  '3': 'unknown',
};

export function mapVersion(v: CriVersion): RuntimeInfo {
  return { name: v.runtimeName ?? '', version: v.runtimeVersion ?? '', apiVersion: v.runtimeApiVersion ?? '' };
}

export function mapImage(i: CriImage): ImageRecord {
  return {
    id: i.id ?? '',
    repoTags: [...(i.repoTags ?? [])],
    repoDigests: [...(i.repoDigests ?? [])],
    size: Number(i.size ?? 0),
    pinned: i.pinned === true,
  };
}

/** CRI timestamps are Unix nanoseconds (int64, decoded as a string). */
export function nanosToIso(ns: string | number | undefined): string | undefined {
  if (ns === undefined || ns === '' || ns === '0' || ns === 0) return undefined;
  try {
    const ms = Number(BigInt(ns) / 1_000_000n);
    return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : undefined;
  } catch {
    return undefined;
  }
}

export function mapContainer(c: CriContainer): ContainerRecord {
  const labels = c.labels ?? {};
  return {
    id: c.id ?? '',
    podSandboxId: c.podSandboxId ?? '',
    name: c.metadata?.name || labels['io.kubernetes.container.name'] || '',
    attempt: Number(c.metadata?.attempt ?? 0),
    state: STATES[String(c.state ?? 'CONTAINER_UNKNOWN')] ?? 'unknown',
    createdAt: nanosToIso(c.createdAt),
    imageSpec: c.image?.image ?? '',
    userSpecifiedImage: c.image?.userSpecifiedImage || undefined,
    imageRef: c.imageRef ?? '',
    imageId: c.imageId || undefined,
    podName: labels['io.kubernetes.pod.name'],
    podNamespace: labels['io.kubernetes.pod.namespace'],
    podUid: labels['io.kubernetes.pod.uid'],
  };
}

/**
 * Reduces `ImageStatus(verbose).info["info"]` (JSON `{imageSpec: <OCI image config>}`)
 * to build metadata (domain/build-meta.ts: only four OCI labels and `created` are kept).
 */
export function buildMetaFromInfo(info: Record<string, string> | undefined): ImageBuildMeta | undefined {
  const raw = info?.['info'];
  if (!raw) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  return buildMetaFromConfig((parsed as { imageSpec?: unknown } | null)?.imageSpec);
}
