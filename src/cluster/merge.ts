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
import { digestsOf } from '../domain/evidence.js';

function workloadOf(c: { namespace: string | undefined; owner?: { kind: string; name: string } | undefined; pod: string | undefined }): string {
  const ns = c.namespace ?? '-';
  return c.owner ? `${ns}/${c.owner.kind}/${c.owner.name}` : `${ns}/Pod/${c.pod ?? '?'}`;
}

interface Running extends ReportContainer {
  readonly node: string;
  /** The node's platform; `unknown` for reports that do not say. */
  readonly platform: string;
}

export function mergeReports(results: readonly NodeResult[], generatedAt: string, mutableTag: (tag: string | undefined) => boolean): ClusterReport {
  const ok = results.filter((r) => r.status === 'ok' && r.report);
  const running: Running[] = ok.flatMap((r) => r.report!.containers.filter((c) => c.state === 'running').map((c) => ({ ...c, node: r.node, platform: r.report!.platform ?? 'unknown' })));
  const ownerByContainer = new Map<string, string>();
  for (const c of running) ownerByContainer.set(`${c.node}|${c.namespace}|${c.pod}|${c.container}`, workloadOf(c));

  // Node findings: the same (code, image, workload, message-independent evidence) on several nodes becomes one.
  const merged = new Map<string, { f: ClusterFinding; workload: string }>();
  for (const r of ok) {
    for (const f of r.report!.findings) {
      const containers: ContainerAt[] = f.containers.map((c) => ({ node: r.node, ...c }));
      const workloads = [...new Set(containers.map((c) => ownerByContainer.get(`${c.node}|${c.namespace}|${c.pod}|${c.container}`) ?? workloadOf({ namespace: c.namespace, pod: c.pod })))];
      const workload = workloads.length === 0 ? '(node)' : workloads.sort().join(', ');
      const digests = digestsOf(f).map((d) => `${d.key}=${d.digest}`).join(',');
      const key = `${f.code}|${f.image ?? ''}|${workload}|${digests}|${workloads.length === 0 ? f.message : ''}`;
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
        ...(r.report?.registryTruth ? { registryAnswers: { total: r.report.registryTruth.length, viaResolver: r.report.registryTruth.filter((t) => t.result.via === 'resolver').length } } : {}),
      })),
    groups: sortedGroups,
    pullPolicyRisk: pullPolicyRisk(running, mutableTag),
    summary: { ...summary, nodes: results.length, nodesOk: ok.length },
  };
}

/**
 * digest-drift: one image reference (as the pods wrote it, pinned references aside)
 * running different images on nodes of the same platform — across nodes, or across
 * pods of one workload. "Different" is the image ID (the platform image's config
 * digest), not the recorded repo digest: two nodes that pulled a tag before and
 * after its index was re-published (another platform or an attestation changed) run
 * the same image, and nodes of different architectures run different children of
 * one index by design.
 */
function digestDrift(running: readonly Running[]): { f: ClusterFinding; workload: string }[] {
  const byImage = new Map<string, Running[]>();
  for (const c of running) {
    if (!c.image || c.image.includes('@') || !(c.imageId ?? c.runningDigest)) continue;
    const list = byImage.get(c.image) ?? [];
    list.push(c);
    byImage.set(c.image, list);
  }
  const out: { f: ClusterFinding; workload: string }[] = [];
  for (const [image, all] of byImage) {
    const byPlatform = new Map<string, Running[]>();
    for (const c of all) byPlatform.set(c.platform, [...(byPlatform.get(c.platform) ?? []), c]);
    const drifting = [...byPlatform.entries()].filter(([, cs]) => new Set(cs.map(identity)).size > 1);
    if (drifting.length === 0) continue;
    const cs = drifting.flatMap(([, list]) => list);
    const images = new Map<string, Running[]>();
    for (const c of cs) images.set(identity(c), [...(images.get(identity(c)) ?? []), c]);
    const nodes = [...new Set(cs.map((c) => c.node))].sort();
    const workloads = [...new Set(cs.map(workloadOf))].sort();
    const nodesOf = (list: readonly Running[]) => [...new Set(list.map((c) => c.node))].sort();
    const byDigest: Record<string, { nodes: string[]; containers: number; imageId?: string; platform: string }> = {};
    for (const list of images.values()) {
      const c = list[0]!;
      const key = c.runningDigest ?? c.imageId!;
      byDigest[key] = { nodes: nodesOf(list), containers: list.length, ...(c.imageId ? { imageId: c.imageId } : {}), platform: c.platform };
    }
    const parts = [...images.values()].map((list) => `${shortDigest(list[0]!.runningDigest ?? list[0]!.imageId)} on ${nodesOf(list).join(', ')}`);
    const platforms = drifting.map(([p]) => p);
    out.push({
      workload: workloads.join(', '),
      f: {
        code: 'digest-drift',
        severity: 'warning',
        message: `${image} runs ${images.size} different images${platforms.length === 1 && platforms[0] !== 'unknown' ? ` on ${platforms[0]} nodes` : ''}: ${parts.join('; ')}`,
        image,
        nodes,
        containers: cs.map((c) => ({ node: c.node, namespace: c.namespace, pod: c.pod, container: c.container })),
        evidence: { digests: byDigest, workloads, platforms },
        remediation:
          'Pin the workload to one digest (kubectl set image ...@sha256:...) or restart it with imagePullPolicy: Always so every node resolves the tag again.\n' +
          'Lasting fix: unique tags (or digests) per build: a tag that moves makes each node run whatever it pulled last.',
      },
    });
  }
  return out;
}

/** What a container runs: its image ID (config digest), else the recorded repo digest. */
function identity(c: Running): string {
  return c.imageId ?? c.runningDigest!;
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

/** The merged view narrowed to the workloads of one namespace (`-n`): their containers only, summary recounted. */
export function onlyNamespace(report: ClusterReport, namespace: string): ClusterReport {
  const inNs = (workload: string) => workload.split('/')[0] === namespace;
  const groups: WorkloadGroup[] = [];
  for (const g of report.groups) {
    const workloads = g.workload.split(', ').filter(inNs);
    if (workloads.length === 0) continue;
    const findings = g.findings
      .map((f) => ({ ...f, containers: f.containers.filter((c) => c.namespace === namespace) }))
      .filter((f) => f.containers.length > 0)
      .map((f) => ({ ...f, nodes: [...new Set(f.containers.map((c) => c.node))].sort() }));
    if (findings.length > 0) groups.push({ ...g, workload: workloads.join(', '), findings, worst: findings.reduce((w, f) => (severityRank(f.severity) > severityRank(w) ? f.severity : w), findings[0]!.severity) });
  }
  const summary = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const g of groups) for (const f of g.findings) summary[f.severity] += 1;
  return { ...report, groups, pullPolicyRisk: report.pullPolicyRisk.filter((p) => p.workload.split(', ').some(inNs)), summary: { ...report.summary, ...summary } };
}

/**
 * The merged view narrowed to the containers of the pods `keep` accepts (`-l`): findings keep only
 * those containers, groups and pull-policy risks without any go, the summary is recounted.
 */
export function onlyPods(report: ClusterReport, keep: (namespace: string | undefined, pod: string | undefined) => boolean): ClusterReport {
  const groups: WorkloadGroup[] = [];
  for (const g of report.groups) {
    const findings = g.findings
      .map((f) => ({ ...f, containers: f.containers.filter((c) => keep(c.namespace, c.pod)) }))
      .filter((f) => f.containers.length > 0)
      .map((f) => ({ ...f, nodes: [...new Set(f.containers.map((c) => c.node))].sort() }));
    if (findings.length > 0) groups.push({ ...g, findings, worst: findings.reduce((w, f) => (severityRank(f.severity) > severityRank(w) ? f.severity : w), findings[0]!.severity) });
  }
  const kept = new Set(groups.flatMap((g) => g.workload.split(', ')));
  const summary = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const g of groups) for (const f of g.findings) summary[f.severity] += 1;
  return { ...report, groups, pullPolicyRisk: report.pullPolicyRisk.filter((p) => p.workload.split(', ').some((w) => kept.has(w))), summary: { ...report.summary, ...summary } };
}
