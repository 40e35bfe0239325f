/**
 * Merges every node's report into the cluster view (pure): findings grouped by
 * workload and image, the same finding on several nodes reported once with its
 * nodes, digest-drift (one reference running different digests across nodes or
 * pods), and the pull-policy risk per workload.
 */
import { SEVERITIES, severityRank, type Severity } from '../domain/finding-codes.js';
import type { ClusterFinding, ClusterReport, ContainerAt, NodeResult, PullPolicyRisk, WorkloadGroup } from '../domain/cluster-report.js';
import type { ReportContainer } from '../domain/report.js';
import { shortDigest } from '../domain/image-ref.js';

function workloadOf(c: { namespace: string | undefined; owner?: { kind: string; name: string } | undefined; pod: string | undefined }): string {
  const ns = c.namespace ?? '-';
  return c.owner ? `${ns}/${c.owner.kind}/${c.owner.name}` : `${ns}/Pod/${c.pod ?? '?'}`;
}

interface Running extends ReportContainer {
  readonly node: string;
}

export function mergeReports(results: readonly NodeResult[], generatedAt: string, mutableTag: (tag: string | undefined) => boolean): ClusterReport {
  const ok = results.filter((r) => r.status === 'ok' && r.report);
  const running: Running[] = ok.flatMap((r) => r.report!.containers.filter((c) => c.state === 'running').map((c) => ({ ...c, node: r.node })));
  const ownerByContainer = new Map<string, string>();
  for (const c of running) ownerByContainer.set(`${c.node}|${c.namespace}|${c.pod}|${c.container}`, workloadOf(c));

  // Node findings: the same (code, image, workload, message-independent evidence) on several nodes becomes one.
  const merged = new Map<string, { f: ClusterFinding; workload: string }>();
  for (const r of ok) {
    for (const f of r.report!.findings) {
      const containers: ContainerAt[] = f.containers.map((c) => ({ node: r.node, ...c }));
      const workloads = [...new Set(containers.map((c) => ownerByContainer.get(`${c.node}|${c.namespace}|${c.pod}|${c.container}`) ?? workloadOf({ namespace: c.namespace, pod: c.pod })))];
      const workload = workloads.length === 0 ? '(node)' : workloads.sort().join(', ');
      const key = `${f.code}|${f.image ?? ''}|${workload}|${String(f.evidence['runningDigest'] ?? '')}|${String(f.evidence['registryDigest'] ?? f.evidence['mirrorDigest'] ?? '')}|${workloads.length === 0 ? f.message : ''}`;
      const prev = merged.get(key);
      if (prev) {
        merged.set(key, { workload, f: { ...prev.f, nodes: [...new Set([...prev.f.nodes, r.node])].sort(), containers: [...prev.f.containers, ...containers] } });
      } else {
        const { containers: _c, ...rest } = f;
        merged.set(key, { workload, f: { ...rest, nodes: [r.node], containers } });
      }
    }
  }
  for (const d of digestDrift(running)) merged.set(`digest-drift|${d.f.image}|${d.workload}`, d);

  const groups = new Map<string, { workload: string; image: string | undefined; findings: ClusterFinding[] }>();
  for (const { f, workload } of merged.values()) {
    const key = `${workload}|${f.image ?? ''}`;
    const g = groups.get(key) ?? { workload, image: f.image, findings: [] };
    g.findings.push(f);
    groups.set(key, g);
  }
  const sortedGroups: WorkloadGroup[] = [...groups.values()]
    .map((g) => {
      const findings = g.findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.code.localeCompare(b.code));
      return { workload: g.workload, image: g.image, findings, worst: findings[0]!.severity };
    })
    .sort((a, b) => severityRank(b.worst) - severityRank(a.worst) || a.workload.localeCompare(b.workload) || (a.image ?? '').localeCompare(b.image ?? ''));

  const summary = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const g of sortedGroups) for (const f of g.findings) summary[f.severity] += 1;
  return {
    schemaVersion: 1,
    generatedAt,
    nodes: [...results]
      .sort((a, b) => a.node.localeCompare(b.node))
      .map((r) => ({
        node: r.node,
        status: r.status,
        source: r.source,
        ...(r.error ? { error: r.error } : {}),
        ...(r.report ? { generatedAt: r.report.generatedAt, summary: r.report.summary } : {}),
      })),
    groups: sortedGroups,
    pullPolicyRisk: pullPolicyRisk(running, mutableTag),
    summary: { ...summary, nodes: results.length, nodesOk: ok.length },
  };
}

/**
 * digest-drift: one image reference (as the pods wrote it, pinned references aside)
 * running with more than one digest — across nodes, or across pods of one workload.
 */
function digestDrift(running: readonly Running[]): { f: ClusterFinding; workload: string }[] {
  const byImage = new Map<string, Running[]>();
  for (const c of running) {
    if (!c.image || c.image.includes('@') || !c.runningDigest) continue;
    const list = byImage.get(c.image) ?? [];
    list.push(c);
    byImage.set(c.image, list);
  }
  const out: { f: ClusterFinding; workload: string }[] = [];
  for (const [image, cs] of byImage) {
    const digests = new Map<string, Running[]>();
    for (const c of cs) digests.set(c.runningDigest!, [...(digests.get(c.runningDigest!) ?? []), c]);
    if (digests.size < 2) continue;
    const nodes = [...new Set(cs.map((c) => c.node))].sort();
    const workloads = [...new Set(cs.map(workloadOf))].sort();
    const byDigest = Object.fromEntries(
      [...digests.entries()].map(([d, list]) => [d, { nodes: [...new Set(list.map((c) => c.node))].sort(), containers: list.length }]),
    );
    const parts = [...digests.entries()].map(([d, list]) => `${shortDigest(d)} on ${[...new Set(list.map((c) => c.node))].sort().join(', ')}`);
    out.push({
      workload: workloads.join(', '),
      f: {
        code: 'digest-drift',
        severity: 'warning',
        message: `${image} runs ${digests.size} different digests: ${parts.join('; ')}`,
        image,
        nodes,
        containers: cs.map((c) => ({ node: c.node, namespace: c.namespace, pod: c.pod, container: c.container })),
        evidence: { digests: byDigest, workloads },
        remediation:
          'Pin the workload to one digest (kubectl set image ...@sha256:...) or restart it with imagePullPolicy: Always so every node resolves the tag again.\n' +
          'Lasting fix: unique tags (or digests) per build: a tag that moves makes each node run whatever it pulled last.',
      },
    });
  }
  return out;
}

function pullPolicyRisk(running: readonly Running[], mutableTag: (tag: string | undefined) => boolean): PullPolicyRisk[] {
  const risks = new Map<string, { workload: string; image: string; pullPolicy: string; nodes: Set<string> }>();
  for (const c of running) {
    if (!c.image || c.image.includes('@') || c.pullPolicy === 'Always') continue;
    const tag = c.image.slice(c.image.lastIndexOf(':') + 1);
    if (!mutableTag(tag)) continue;
    const workload = workloadOf(c);
    const key = `${workload}|${c.image}`;
    const r = risks.get(key) ?? { workload, image: c.image, pullPolicy: c.pullPolicy ?? 'unknown', nodes: new Set<string>() };
    r.nodes.add(c.node);
    risks.set(key, r);
  }
  return [...risks.values()]
    .map((r) => ({ workload: r.workload, image: r.image, pullPolicy: r.pullPolicy, nodes: [...r.nodes].sort() }))
    .sort((a, b) => a.workload.localeCompare(b.workload) || a.image.localeCompare(b.image));
}
