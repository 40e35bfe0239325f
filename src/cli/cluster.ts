/**
 * `tagdrift cluster` (also `kubectl tagdrift`): every node's report, merged. Agents are
 * found through the Kubernetes API and asked through the API server's pod proxy, or
 * asked directly with --endpoints.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadKubeApi } from '../adapters/kube/api.js';
import { globToRegExp, isMutableTag } from '../domain/mutable-tags.js';
import { discoverAgents, endpointBase, endpointTargets, fetchAll, readerToken, type AgentTarget } from '../cluster/collect.js';
import { mergeReports, onlyNamespace, onlyPods } from '../cluster/merge.js';
import { SourceFailure } from '../domain/ports.js';
import type { NodeResult } from '../domain/cluster-report.js';
import { reachesSeverity } from '../domain/finding-codes.js';
import type { Options } from '../config/option-table.js';
import { renderCluster } from '../render/cluster.js';
import { terminalSafe } from '../render/safe.js';
import { outputFormat, serialize, terminalWidth, useColor, wrap } from '../render/output.js';

/** Exit codes: 0 ran, 1 findings at or above --fail-on, 2 bad usage, 3 no node's report could be read. */
export const CLUSTER_EXIT = { ok: 0, findings: 1, usage: 2, noReports: 3 } as const;

function defaultKubeconfig(given: string | undefined): string | undefined {
  if (given) return given;
  if (process.env['KUBERNETES_SERVICE_HOST']) return undefined;
  const home = join(homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

function kubeSelection(options: Options) {
  return { context: options.kubeContext, cluster: options.kubeCluster, user: options.kubeUser, as: options.kubeAs, asGroups: options.kubeAsGroups };
}

export async function runCluster(options: Options, io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream; isTTY: boolean }): Promise<number> {
  if (options.namespace && options.allNamespaces) {
    io.stderr.write('tagdrift cluster: -n/--namespace and -A/--all-namespaces exclude each other\n');
    return CLUSTER_EXIT.usage;
  }
  let targets: AgentTarget[];
  let missing: NodeResult[] = [];
  if (options.endpoints && options.endpoints.length > 0) {
    const bad = options.endpoints.map(endpointBase).find((b): b is Error => b instanceof Error);
    if (bad) {
      io.stderr.write(`tagdrift cluster: ${bad.message}\n`);
      return CLUSTER_EXIT.usage;
    }
    targets = endpointTargets(options.endpoints);
  } else {
    const api = await loadKubeApi(defaultKubeconfig(options.kubeconfig), kubeSelection(options));
    if (api instanceof SourceFailure) {
      io.stderr.write(`tagdrift cluster: ${api.message} (or pass --endpoints)\n`);
      return CLUSTER_EXIT.usage;
    }
    try {
      const reader = await readerToken(api, options.agentNamespace, options.kubeTimeoutMs);
      const found = await discoverAgents(api, { namespace: options.agentNamespace, selector: options.agentSelector, port: options.agentPort, timeoutMs: options.kubeTimeoutMs, ...(reader.token ? { token: reader.token } : {}) });
      if (reader.note) found.notes.push(reader.note);
      targets = found.targets;
      missing = found.missing;
      for (const n of found.notes) io.stderr.write(`tagdrift cluster: ${n}\n`);
    } catch (e) {
      io.stderr.write(`tagdrift cluster: cannot list the agent pods: ${(e as Error).message}\n`);
      return CLUSTER_EXIT.noReports;
    }
  }
  const progress = io.isTTY && targets.length > 1
    ? (done: number, total: number) => io.stderr.write(`\rasking agents: ${done}/${total}${done === total ? '\n' : ''}`)
    : undefined;
  const results = await fetchAll(targets, { concurrency: options.concurrency, timeoutMs: options.nodeTimeoutMs, ...(progress ? { onProgress: progress } : {}) });
  const patterns = options.mutableTags.map(globToRegExp);
  const merged = mergeReports([...results, ...missing], new Date().toISOString(), (tag) => isMutableTag(tag, false, patterns));
  let report = options.namespace ? onlyNamespace(merged, options.namespace) : merged;
  if (options.selector) {
    // -l as kubectl means it: the workloads whose pods match, asked of the API with the caller's own credentials.
    const api = await loadKubeApi(defaultKubeconfig(options.kubeconfig), kubeSelection(options));
    if (api instanceof SourceFailure) {
      io.stderr.write(`tagdrift cluster: -l/--selector needs the Kubernetes API to match pod labels: ${api.message}\n`);
      return CLUSTER_EXIT.usage;
    }
    let matching: Set<string>;
    try {
      const path = options.namespace ? `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods` : '/api/v1/pods';
      const body = (await api.getJson(path, { labelSelector: options.selector }, {
        timeoutMs: options.kubeTimeoutMs, maxBytes: 64 * 1024 * 1024, what: 'list pods', headers: { accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' },
      })) as { items?: { metadata?: { namespace?: string; name?: string } }[] };
      matching = new Set((body.items ?? []).map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
    } catch (e) {
      io.stderr.write(`tagdrift cluster: -l/--selector: ${(e as Error).message}\n`);
      return /invalid|400/i.test((e as Error).message) ? CLUSTER_EXIT.usage : CLUSTER_EXIT.noReports;
    }
    report = onlyPods(report, (namespace, pod) => matching.has(`${namespace}/${pod}`));
  }
  const format = outputFormat(options.output, io.isTTY);
  io.stdout.write(
    format === 'json' || format === 'yaml'
      ? serialize(report, format)
      : wrap(renderCluster(terminalSafe(report), { color: useColor(io.isTTY, process.env), wide: format === 'wide' }), terminalWidth(io.stdout, process.env)),
  );
  if (report.summary.nodesOk === 0) return CLUSTER_EXIT.noReports;
  const all = report.groups.flatMap((g) => g.findings);
  return reachesSeverity(all, options.failOn) ? CLUSTER_EXIT.findings : CLUSTER_EXIT.ok;
}
