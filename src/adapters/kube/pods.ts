/**
 * Kubernetes adapter: lists the pods of one node (`fieldSelector=spec.nodeName=<node>`)
 * with @kubernetes/client-node, from a kubeconfig file or the in-cluster service account.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { KubeErrorKind, PodRecord } from '../../domain/snapshot.js';
import { SourceFailure, type PodSource } from '../../collect/ports.js';
import { mapPod, type KPod } from './map.js';

export interface KubePodSourceOptions {
  /** Path to a kubeconfig; when absent, in-cluster config is used if available. */
  readonly kubeconfig: string | undefined;
  readonly timeoutMs: number;
}

/** Builds a pod source, or explains why none can be built (the scan then runs on CRI evidence alone). */
export function createKubePodSource(options: KubePodSourceOptions): PodSource | SourceFailure<KubeErrorKind> {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else if (process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
    else return new SourceFailure('not-configured', 'no --kubeconfig given and not running in a cluster');
  } catch (e) {
    return new SourceFailure('not-configured', `kubeconfig ${options.kubeconfig ?? '(in-cluster)'}: ${(e as Error).message}`);
  }
  if (!kc.getCurrentCluster()) return new SourceFailure('not-configured', 'kubeconfig has no current cluster');
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async listNodePods(nodeName: string): Promise<PodRecord[]> {
      if (!nodeName) throw new SourceFailure<KubeErrorKind>('not-configured', 'node name unknown: pass --node-name or set NODE_NAME');
      const list = await withTimeout(
        api.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` }),
        options.timeoutMs,
      ).catch((e: unknown) => {
        throw classifyKubeError(e);
      });
      return (list.items as KPod[]).map(mapPod);
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SourceFailure<KubeErrorKind>('timeout', `no answer from the API server within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function classifyKubeError(e: unknown): SourceFailure<KubeErrorKind> {
  if (e instanceof SourceFailure) return e as SourceFailure<KubeErrorKind>;
  const err = e as { code?: unknown; message?: string; cause?: { code?: string } };
  const status = typeof err.code === 'number' ? err.code : undefined;
  if (status === 401) return new SourceFailure('unauthorized', 'the API server rejected the credentials (401)');
  if (status === 403) return new SourceFailure('forbidden', 'not allowed to list pods (403): check the ClusterRole');
  if (status !== undefined) return new SourceFailure('error', `listing pods failed with HTTP ${status}`);
  const code = typeof err.code === 'string' ? err.code : err.cause?.code;
  if (code && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EAI_AGAIN/.test(code)) {
    return new SourceFailure('unreachable', `API server unreachable (${code})`);
  }
  // Messages from the HTTP layer can include the request URL but not credentials; keep them short.
  return new SourceFailure('error', `listing pods failed: ${(err.message ?? String(e)).slice(0, 200)}`);
}
