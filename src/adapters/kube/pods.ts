/**
 * Kubernetes adapter: lists the pods of one node (`fieldSelector=spec.nodeName=<node>`)
 * through the minimal API access in api.ts (hard deadline, size cap), a page at a time
 * (`limit` and `continue`): each page is reduced to compact pod records before the next
 * is read, so memory follows the page, not the node's whole pod list.
 */
import type { KubeErrorKind, PodRecord } from '../../domain/snapshot.js';
import { SourceFailure, type PodSource } from '../../collect/ports.js';
import { loadKubeApi, type KubeApi } from './api.js';
import { mapPod, type KPod } from './map.js';

export { classifyKubeError } from './api.js';

export interface KubePodSourceOptions {
  /** Path to a kubeconfig; when absent, in-cluster config is used if available. */
  readonly kubeconfig: string | undefined;
  readonly timeoutMs: number;
}

/** Pods asked per page, and the largest page body read (a pod object is ~5–20 KiB). */
export const POD_PAGE_LIMIT = 100;
export const MAX_POD_PAGE_BYTES = 8 * 1024 * 1024;
/** Pages read per listing: 10,000 pods, far beyond what one node runs. */
export const MAX_POD_PAGES = 100;

/**
 * Builds a pod source, or explains why none can be built (the scan then runs on CRI
 * evidence alone). The client library is loaded only when it is needed: its module
 * graph costs a few hundred milliseconds of start-up.
 */
export async function createKubePodSource(options: KubePodSourceOptions): Promise<PodSource | SourceFailure<KubeErrorKind>> {
  const api = await loadKubeApi(options.kubeconfig);
  if (api instanceof SourceFailure) return api;
  return kubePodSource(api, options);
}

/** The pod source over an already loaded API access. */
export function kubePodSource(api: KubeApi, options: { readonly timeoutMs: number }): PodSource {
  return {
    async listNodePods(nodeName: string): Promise<PodRecord[]> {
      if (!nodeName) throw new SourceFailure<KubeErrorKind>('not-configured', 'node name unknown: pass --node-name or set NODE_NAME');
      const deadline = Date.now() + options.timeoutMs;
      const pods: PodRecord[] = [];
      let cont: string | undefined;
      for (let page = 0; ; page++) {
        if (page >= MAX_POD_PAGES) throw new SourceFailure<KubeErrorKind>('error', `more than ${MAX_POD_PAGES * POD_PAGE_LIMIT} pods listed for one node: stopped reading (tagdrift's own limit)`);
        const left = deadline - Date.now();
        if (left <= 0) throw new SourceFailure<KubeErrorKind>('timeout', `list pods: no answer within ${options.timeoutMs} ms`);
        const query: Record<string, string> = { fieldSelector: `spec.nodeName=${nodeName}`, limit: String(POD_PAGE_LIMIT), ...(cont ? { continue: cont } : {}) };
        const body = (await api.getJson('/api/v1/pods', query, { timeoutMs: left, maxBytes: MAX_POD_PAGE_BYTES, what: 'list pods' })) as { items?: unknown; metadata?: { continue?: unknown } };
        if (!Array.isArray(body.items)) throw new SourceFailure<KubeErrorKind>('error', 'API server answered without a pod list');
        for (const item of body.items as KPod[]) pods.push(mapPod(item));
        cont = typeof body.metadata?.continue === 'string' && body.metadata.continue !== '' ? body.metadata.continue : undefined;
        if (!cont) return pods;
      }
    },
  };
}
