/**
 * Kubernetes adapter: lists the pods of one node (`fieldSelector=spec.nodeName=<node>`)
 * through the minimal API access in api.ts (hard deadline, size cap), a page at a time
 * (`limit` and `continue`): each page is reduced to compact pod records before the next
 * is read, so memory follows the page, not the node's whole pod list.
 */
import type { KubeErrorKind, PodRecord } from '../../domain/snapshot.js';
import { SourceFailure, type PodSource } from '../../domain/ports.js';
import { AnswerTooLarge, type KubeApi } from './api.js';
import { mapPod, type KPod } from './map.js';

/** Pods asked per page, and the largest page body read (a pod object is ~5–20 KiB). */
export const POD_PAGE_LIMIT = 100;
export const MAX_POD_PAGE_BYTES = 8 * 1024 * 1024;
/** Pages read per listing: 10,000 pods, far beyond what one node runs. */
export const MAX_POD_PAGES = 100;

/** The pod source over an already loaded API access. */
export function kubePodSource(api: KubeApi, options: { readonly timeoutMs: number }): PodSource {
  return {
    async listNodePods(nodeName: string): Promise<PodRecord[]> {
      if (!nodeName) throw new SourceFailure<KubeErrorKind>('not-configured', 'node name unknown: pass --node-name or set NODE_NAME');
      const deadline = Date.now() + options.timeoutMs;
      const pods: PodRecord[] = [];
      let cont: string | undefined;
      // Pods are legal up to 1.5 MiB of object each (annotations up to 256 KiB): a page over the
      // cap is asked again with fewer pods, down to one; a single pod over the cap is named (from
      // the API's table form, which carries no annotations) and skipped, never the node's intent.
      let limit = POD_PAGE_LIMIT;
      for (let page = 0; ; page++) {
        if (page >= MAX_POD_PAGES * 4) throw new SourceFailure<KubeErrorKind>('error', `more than ${MAX_POD_PAGES * 4} pages listed for one node: stopped reading (tagdrift's own limit)`);
        if (pods.length >= MAX_POD_PAGES * POD_PAGE_LIMIT) throw new SourceFailure<KubeErrorKind>('error', `more than ${MAX_POD_PAGES * POD_PAGE_LIMIT} pods listed for one node: stopped reading (tagdrift's own limit)`);
        const left = deadline - Date.now();
        if (left <= 0) throw new SourceFailure<KubeErrorKind>('timeout', `list pods: no answer within ${options.timeoutMs} ms`);
        const query: Record<string, string> = { fieldSelector: `spec.nodeName=${nodeName}`, limit: String(limit), ...(cont ? { continue: cont } : {}) };
        let body: { items?: unknown; metadata?: { continue?: unknown } };
        try {
          body = (await api.getJson('/api/v1/pods', query, { timeoutMs: left, maxBytes: MAX_POD_PAGE_BYTES, what: 'list pods' })) as typeof body;
        } catch (e) {
          if (!(e instanceof AnswerTooLarge)) throw e;
          if (limit > 1) {
            limit = Math.max(1, Math.floor(limit / 4));
            continue;
          }
          const skipped = await unreadPod(api, query, deadline - Date.now());
          pods.push(skipped.pod);
          cont = skipped.next;
          if (!cont) return pods;
          continue;
        }
        if (!Array.isArray(body.items)) throw new SourceFailure<KubeErrorKind>('error', 'API server answered without a pod list');
        for (const item of body.items as KPod[]) pods.push(mapPod(item));
        cont = typeof body.metadata?.continue === 'string' && body.metadata.continue !== '' ? body.metadata.continue : undefined;
        if (!cont) return pods;
        limit = Math.min(POD_PAGE_LIMIT, limit * 2);
      }
    },
    async workloadMetadata(namespace: string, kind: string, name: string) {
      const plural = ({ Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' } as Record<string, string>)[kind];
      const dns = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
      if (!plural || !dns.test(namespace) || !dns.test(name)) return undefined;
      // Metadata only (the API's PartialObjectMetadata form): labels and annotations, not the spec.
      const obj = (await api.getJson(`/apis/apps/v1/namespaces/${namespace}/${plural}/${name}`, {}, {
        timeoutMs: options.timeoutMs, maxBytes: 1024 * 1024, what: `get ${plural}`,
        headers: { accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json' },
      }).catch(() => undefined)) as { metadata?: { labels?: unknown; annotations?: unknown } } | undefined;
      const m = obj?.metadata;
      if (!m) return undefined;
      const table = (v: unknown) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
      return { ...(table(m.labels) ? { labels: table(m.labels)! } : {}), ...(table(m.annotations) ? { annotations: table(m.annotations)! } : {}) };
    },
    async nodeOf(namespace: string, name: string): Promise<string | undefined> {
      const dns = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
      if (!dns.test(namespace) || !dns.test(name)) return undefined;
      const pod = (await api.getJson(`/api/v1/namespaces/${namespace}/pods/${name}`, {}, { timeoutMs: options.timeoutMs, maxBytes: MAX_POD_PAGE_BYTES, what: 'get pods' }).catch(() => undefined)) as { spec?: { nodeName?: unknown } } | undefined;
      const node = pod?.spec?.nodeName;
      return typeof node === 'string' && dns.test(node) ? node : undefined;
    },
  };
}

const TABLE_ACCEPT = 'application/json;as=Table;g=meta.k8s.io;v=v1';

/** The one pod at this position, as the API's table form names it (name only: no annotations), and the next position. */
async function unreadPod(api: KubeApi, query: Record<string, string>, timeoutMs: number): Promise<{ pod: PodRecord; next: string | undefined }> {
  if (timeoutMs <= 0) throw new SourceFailure<KubeErrorKind>('timeout', 'list pods: no answer in time');
  const table = (await api.getJson('/api/v1/pods', { ...query, limit: '1', includeObject: 'None' }, { timeoutMs, maxBytes: 256 * 1024, what: 'list pods', headers: { accept: TABLE_ACCEPT } })) as {
    kind?: unknown; rows?: { cells?: unknown[] }[]; metadata?: { continue?: unknown };
  };
  const name = table.kind === 'Table' ? table.rows?.[0]?.cells?.[0] : undefined;
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
    throw new SourceFailure<KubeErrorKind>('error', `a pod's object is larger than ${MAX_POD_PAGE_BYTES} bytes and the API did not name it: stopped reading`);
  }
  const next = typeof table.metadata?.continue === 'string' && table.metadata.continue !== '' ? table.metadata.continue : undefined;
  return {
    pod: { namespace: '', name, uid: '', nodeName: undefined, owner: undefined, containers: [], unread: `its object is larger than ${MAX_POD_PAGE_BYTES} bytes (tagdrift's limit per answer)` },
    next,
  };
}
