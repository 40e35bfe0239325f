/**
 * Kubernetes adapter: lists the pods of one node (`fieldSelector=spec.nodeName=<node>`).
 *
 * @kubernetes/client-node loads the configuration (kubeconfig or in-cluster service
 * account) and applies its credentials (tokens, client certificates, exec plugins);
 * the GET itself is made with node's http(s) so it has a hard deadline that tears
 * the socket down, and a size cap.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeErrorKind, PodRecord } from '../../domain/snapshot.js';
import { SourceFailure, type PodSource } from '../../collect/ports.js';
import { mapPod, type KPod } from './map.js';

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
  if (!options.kubeconfig && !process.env['KUBERNETES_SERVICE_HOST']) {
    return new SourceFailure('not-configured', 'no --kubeconfig given and not running in a cluster');
  }
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromCluster();
  } catch (e) {
    return new SourceFailure('not-configured', `kubeconfig ${options.kubeconfig ?? '(in-cluster)'}: ${(e as Error).message}`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) return new SourceFailure('not-configured', 'kubeconfig has no current cluster');
  return {
    async listNodePods(nodeName: string): Promise<PodRecord[]> {
      if (!nodeName) throw new SourceFailure<KubeErrorKind>('not-configured', 'node name unknown: pass --node-name or set NODE_NAME');
      const url = new URL('/api/v1/pods', cluster.server.replace(/\/+$/, '') + '/');
      url.searchParams.set('fieldSelector', `spec.nodeName=${nodeName}`);
      const requestOptions: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
      try {
        await kc.applyToHTTPSOptions(requestOptions);
      } catch (e) {
        throw new SourceFailure<KubeErrorKind>('unauthorized', `could not obtain credentials: ${(e as Error).message.slice(0, 200)}`);
      }
      const body = await getJson(url, requestOptions, options.timeoutMs);
      const items = (body as { items?: unknown }).items;
      if (!Array.isArray(items)) throw new SourceFailure<KubeErrorKind>('error', 'API server answered without a pod list');
      return (items as KPod[]).map(mapPod);
    },
  };
}

function getJson(url: URL, opts: https.RequestOptions, timeoutMs: number): Promise<unknown> {
  const mod = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { ...opts, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_POD_LIST_BYTES) {
          req.destroy(new SourceFailure<KubeErrorKind>('error', `pod list larger than ${MAX_POD_LIST_BYTES} bytes`));
        } else chunks.push(c);
      });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status !== 200) return reject(classifyKubeError({ code: status }));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new SourceFailure<KubeErrorKind>('error', 'API server answered with invalid JSON'));
        }
      });
      res.on('error', (e) => reject(classifyKubeError(e)));
    });
    const deadline = setTimeout(
      () => req.destroy(new SourceFailure<KubeErrorKind>('timeout', `no answer from the API server within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('close', () => clearTimeout(deadline));
    req.on('timeout', () => req.destroy(new SourceFailure<KubeErrorKind>('timeout', `API server connection idle for ${timeoutMs} ms`)));
    req.on('error', (e) => reject(classifyKubeError(e)));
    req.end();
  });
}

export function classifyKubeError(e: unknown): SourceFailure<KubeErrorKind> {
  if (e instanceof SourceFailure) return e as SourceFailure<KubeErrorKind>;
  const err = e as { code?: unknown; message?: string };
  const status = typeof err.code === 'number' ? err.code : undefined;
  if (status === 401) return new SourceFailure('unauthorized', 'the API server rejected the credentials (401)');
  if (status === 403) return new SourceFailure('forbidden', 'not allowed to list pods (403): check the ClusterRole');
  if (status !== undefined) return new SourceFailure('error', `listing pods failed with HTTP ${status}`);
  const code = typeof err.code === 'string' ? err.code : '';
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EAI_AGAIN|ENETUNREACH/.test(code)) {
    return new SourceFailure('unreachable', `API server unreachable (${code})`);
  }
  if (/CERT|SSL|TLS|SELF_SIGNED/.test(code)) return new SourceFailure('error', `TLS error talking to the API server (${code})`);
  return new SourceFailure('error', `listing pods failed: ${(err.message ?? String(e)).slice(0, 200)}`);
}
