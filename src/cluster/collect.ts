/**
 * Finds the agents and fetches each node's report, with bounded concurrency and a
 * per-node timeout. Partial results are normal: an unreachable or unready agent, or a
 * node without an agent, is a NodeResult with a status — never a failure of the run.
 */
import { getCapped, type CappedGetErrors } from '../adapters/http-get.js';
import type { KubeApi } from '../adapters/kube/api.js';
import { SourceFailure } from '../domain/ports.js';
import type { NodeResult } from '../domain/cluster-report.js';
import { REPORT_SCHEMA_VERSION, type Report } from '../domain/report.js';
import { parseAgentError } from '../domain/agent-api.js';

export const MAX_REPORT_BYTES = 64 * 1024 * 1024;

export interface AgentTarget {
  /** Node name when known before fetching (API discovery); endpoints learn it from the report. */
  readonly node: string | undefined;
  readonly source: string;
  fetch(timeoutMs: number): Promise<{ status: number; body: Buffer }>;
}

interface KPodLite {
  metadata?: { name?: string; namespace?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string }[] };
}

/** The ServiceAccount whose short-lived tokens the cluster command shows to agents. */
export const READER_SERVICE_ACCOUNT = 'tagdrift-reader';

/**
 * A 10-minute token for `tagdrift-reader`, audience `tagdrift` (TokenRequest): the agents
 * check it (TokenReview, then SubjectAccessReview for get pods/proxy). The caller's own
 * credentials never reach an agent. Undefined, with the reason, when it cannot be had.
 */
export async function readerToken(api: KubeApi, namespace: string, timeoutMs: number): Promise<{ token?: string; note?: string }> {
  try {
    const res = (await api.postJson(`/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${READER_SERVICE_ACCOUNT}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: ['tagdrift'], expirationSeconds: 600 },
    }, { timeoutMs, maxBytes: 64 * 1024, what: `create serviceaccounts/token for ${namespace}/${READER_SERVICE_ACCOUNT}` })) as { status?: { token?: unknown } };
    const token = res.status?.token;
    return typeof token === 'string' && token ? { token } : { note: 'the token request answered without a token' };
  } catch (e) {
    return { note: `no reader token (${(e as Error).message}): agents answer only requests they can authenticate` };
  }
}

/** Agent pods by label selector, and the nodes that have none (when nodes may be listed). */
export async function discoverAgents(
  api: KubeApi,
  opts: { namespace: string; selector: string; port: number; timeoutMs: number; token?: string },
): Promise<{ targets: AgentTarget[]; missing: NodeResult[]; notes: string[] }> {
  const body = (await api.getJson(`/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods`, { labelSelector: opts.selector }, { timeoutMs: opts.timeoutMs, maxBytes: MAX_REPORT_BYTES, what: `list pods in namespace ${opts.namespace}` })) as { items?: KPodLite[] };
  const pods = (body.items ?? []).filter((p) => p.metadata?.name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  const targets: AgentTarget[] = pods.map((p) => {
    const name = p.metadata!.name!;
    const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(name)}:${opts.port}/proxy/v1/report`;
    return {
      node: p.spec?.nodeName ?? `(unscheduled ${name})`,
      source: `pod ${opts.namespace}/${name} (API proxy)`,
      fetch: (timeoutMs: number) => api.get(path, { timeoutMs, maxBytes: MAX_REPORT_BYTES, ...(opts.token ? { headers: { 'x-tagdrift-authorization': `Bearer ${opts.token}` } } : {}) }),
    };
  });
  const notes: string[] = [];
  const missing: NodeResult[] = [];
  try {
    const nodes = (await api.getJson('/api/v1/nodes', {}, { timeoutMs: opts.timeoutMs, maxBytes: MAX_REPORT_BYTES, what: 'list nodes' })) as { items?: { metadata?: { name?: string } }[] };
    const covered = new Set(targets.map((t) => t.node));
    for (const n of nodes.items ?? []) {
      const name = n.metadata?.name;
      if (name && !covered.has(name)) missing.push({ node: name, status: 'no-agent', source: `no pod matching ${opts.selector} in ${opts.namespace}`, durationMs: 0 });
    }
  } catch (e) {
    notes.push(`nodes without an agent are not listed: ${(e as Error).message}`);
  }
  return { targets, missing, notes };
}

/** Agents reached directly (or through kubectl port-forward): `http://host:port` each. */
/**
 * `--endpoints` values as agents' base URLs: `http(s)://host:port`, or `host:port` (plain HTTP, as
 * `kubectl port-forward` serves it). Anything else is a usage error naming the value.
 */
export function endpointBase(raw: string): string | Error {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return new Error(`--endpoints: ${JSON.stringify(raw)} is not an agent address like http://127.0.0.1:9420 or 127.0.0.1:9420`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname || u.username || u.password || u.search || u.hash) {
    return new Error(`--endpoints: ${JSON.stringify(raw)} is not an agent address like http://127.0.0.1:9420 or 127.0.0.1:9420`);
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

export function endpointTargets(urls: readonly string[]): AgentTarget[] {
  return urls.map((raw) => {
    const base = endpointBase(raw);
    if (base instanceof Error) throw base;
    const url = new URL(`${base}/v1/report`);
    return { node: undefined, source: base, fetch: (timeoutMs: number) => directGet(url, timeoutMs) };
  });
}

const AGENT_GET_ERRORS: CappedGetErrors = {
  tooLarge: (max) => new Error(`report larger than ${max} bytes`),
  timeout: (_kind, ms) => new Error(`no answer within ${ms} ms`),
};

function directGet(url: URL, timeoutMs: number): Promise<{ status: number; body: Buffer }> {
  return getCapped(url, { headers: { accept: 'application/json' }, agent: false }, timeoutMs, MAX_REPORT_BYTES, AGENT_GET_ERRORS);
}

function reason(e: unknown): string {
  if (e instanceof SourceFailure) return e.message;
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}` : (err.message ?? String(e)).slice(0, 200);
}

/** Fetches one target's report and classifies the outcome. */
export async function fetchReport(t: AgentTarget, timeoutMs: number): Promise<NodeResult> {
  const started = performance.now();
  const done = (r: Omit<NodeResult, 'durationMs' | 'source'>): NodeResult => ({ ...r, source: t.source, durationMs: Math.round(performance.now() - started) });
  const node = t.node ?? t.source;
  let res: { status: number; body: Buffer };
  try {
    res = await t.fetch(timeoutMs);
  } catch (e) {
    return done({ node, status: 'unreachable', error: reason(e) });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(res.body.toString('utf8'));
  } catch {
    doc = undefined;
  }
  if (res.status !== 200) {
    // The agent's own errors carry a code (domain/agent-api.ts); anything else came from a proxy or an older agent.
    const agent = parseAgentError(doc);
    if (agent?.code === 'no-report') return done({ node, status: 'not-ready', error: 'the agent has not finished its first scan' });
    if (agent?.code === 'unauthenticated' || agent?.code === 'forbidden' || agent?.code === 'auth-unavailable') {
      return done({ node, status: 'error', error: `HTTP ${res.status}: the agent refused the request (${agent.code}: ${agent.error})` });
    }
    if (agent) return done({ node, status: 'error', error: `HTTP ${res.status}: ${agent.code}: ${agent.error}` });
    const unreachable = res.status === 502 || res.status === 503 || res.status === 504;
    return done({ node, status: unreachable ? 'unreachable' : 'error', error: `HTTP ${res.status}${unreachable ? ' from the proxy: the agent does not answer' : ''}` });
  }
  const report = doc as Report | undefined;
  if (!report || report.schemaVersion !== REPORT_SCHEMA_VERSION || typeof report.node !== 'string' || !Array.isArray(report.findings) || !Array.isArray(report.containers)) {
    return done({ node, status: 'error', error: `the answer is not a tagdrift report (schema version ${REPORT_SCHEMA_VERSION})` });
  }
  return done({ node: t.node ?? report.node, status: 'ok', report });
}

/** Fetches every target, at most `concurrency` at a time; `onProgress` after each. */
export async function fetchAll(
  targets: readonly AgentTarget[],
  opts: { concurrency: number; timeoutMs: number; onProgress?: (done: number, total: number) => void },
): Promise<NodeResult[]> {
  const results: NodeResult[] = new Array(targets.length);
  let next = 0;
  let finished = 0;
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency, targets.length) }, async () => {
      while (next < targets.length) {
        const i = next++;
        results[i] = await fetchReport(targets[i]!, opts.timeoutMs);
        finished += 1;
        opts.onProgress?.(finished, targets.length);
      }
    }),
  );
  return results;
}
