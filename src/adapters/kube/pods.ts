/**
 * Kubernetes adapter: lists the pods of one node (`fieldSelector=spec.nodeName=<node>`)
 * through the minimal API access in api.ts (hard deadline, size cap).
 */
import type { KubeErrorKind, PodRecord } from '../../domain/snapshot.js';
import { SourceFailure, type PodSource } from '../../collect/ports.js';
import { loadKubeApi } from './api.js';
import { mapPod, type KPod } from './map.js';

export { classifyKubeError } from './api.js';

export interface KubePodSourceOptions {
  /** Path to a kubeconfig; when absent, in-cluster config is used if available. */
  readonly kubeconfig: string | undefined;
  readonly timeoutMs: number;
}

export const MAX_POD_LIST_BYTES = 64 * 1024 * 1024;

/**
 * Builds a pod source, or explains why none can be built (the scan then runs on CRI
 * evidence alone). The client library is loaded only when it is needed: its module
 * graph costs a few hundred milliseconds of start-up.
 */
export async function createKubePodSource(options: KubePodSourceOptions): Promise<PodSource | SourceFailure<KubeErrorKind>> {
  const api = await loadKubeApi(options.kubeconfig);
  if (api instanceof SourceFailure) return api;
  return {
    async listNodePods(nodeName: string): Promise<PodRecord[]> {
      if (!nodeName) throw new SourceFailure<KubeErrorKind>('not-configured', 'node name unknown: pass --node-name or set NODE_NAME');
      const body = await api.getJson('/api/v1/pods', { fieldSelector: `spec.nodeName=${nodeName}` }, { timeoutMs: options.timeoutMs, maxBytes: MAX_POD_LIST_BYTES, what: 'list pods' });
      const items = (body as { items?: unknown }).items;
      if (!Array.isArray(items)) throw new SourceFailure<KubeErrorKind>('error', 'API server answered without a pod list');
      return (items as KPod[]).map(mapPod);
    },
  };
}
