/** The cluster view as a table: nodes, then findings grouped by workload and image. */
import { movedAtOf } from '../domain/evidence.js';
import type { ClusterReport } from '../domain/cluster-report.js';
import type { Severity } from '../domain/finding-codes.js';
import { shortDigest } from '../domain/image-ref.js';

const COLORS: Record<Severity, string> = { critical: '\x1b[31;1m', warning: '\x1b[33m', info: '\x1b[36m' };
const RESET = '\x1b[0m';

export function renderCluster(r: ClusterReport, opts: { color: boolean; wide: boolean }): string {
  const paint = (s: Severity, t: string) => (opts.color ? `${COLORS[s]}${t}${RESET}` : t);
  const out: string[] = [];
  const byStatus = new Map<string, string[]>();
  for (const n of r.nodes) byStatus.set(n.status, [...(byStatus.get(n.status) ?? []), n.node]);
  out.push(`${r.summary.nodes} nodes: ${[...byStatus.entries()].map(([s, ns]) => `${ns.length} ${s}`).join(', ')}   (${r.generatedAt})`);
  for (const n of r.nodes.filter((x) => x.status !== 'ok')) out.push(`  ${n.status.toUpperCase().padEnd(11)} ${n.node}  ${n.error ?? ''}  [${n.source}]`);
  const shared = r.nodes.filter((n) => n.registryAnswers && n.registryAnswers.viaResolver > 0);
  if (shared.length > 0 || opts.wide) {
    const answered = r.nodes.filter((n) => n.registryAnswers);
    out.push(`registry answers from the shared resolver on ${shared.length} of ${answered.length} node(s)`);
    if (opts.wide) for (const n of answered) out.push(`  ${n.node}: ${n.registryAnswers!.viaResolver} of ${n.registryAnswers!.total} via the resolver`);
  }
  out.push('');
  if (r.groups.length === 0) out.push('No findings.');
  for (const g of r.groups) {
    out.push(`${paint(g.worst, g.worst.toUpperCase().padEnd(8))} ${g.workload}${g.image ? `  ${g.image}` : ''}`);
    for (const f of g.findings) {
      out.push(`  ${paint(f.severity, f.code)}  on ${f.nodes.length === 1 ? f.nodes[0] : `${f.nodes.length} nodes (${f.nodes.join(', ')})`}`);
      out.push(`    ${f.message}`);
      const moved = movedAtOf(f);
      if (moved) out.push(`    upstream moved at ${moved.at}${moved.announced ? ' (registry notification)' : ''}`);
      if (f.code === 'digest-drift') {
        for (const [d, v] of Object.entries(f.evidence.digests)) {
          out.push(`    ${shortDigest(d)}  ${v.containers} container(s) on ${v.nodes.join(', ')}`);
        }
      }
      if (opts.wide) {
        for (const c of f.containers) out.push(`    - ${c.node}: ${c.namespace ?? '?'}/${c.pod ?? '?'} container ${c.container}`);
        for (const line of f.remediation.split('\n')) out.push(`    fix: ${line}`);
      } else {
        const first = f.remediation.split('\n')[0];
        if (first) out.push(`    fix: ${first}`);
      }
    }
    out.push('');
  }
  if (r.pullPolicyRisk.length > 0) {
    out.push('Pull-policy risk (a mutable tag with imagePullPolicy IfNotPresent: each node runs whatever it cached):');
    for (const p of r.pullPolicyRisk) out.push(`  ${p.workload}  ${p.image}  ${p.pullPolicy}  on ${p.nodes.length} node(s)${opts.wide ? `: ${p.nodes.join(', ')}` : ''}`);
    out.push('');
  }
  out.push(`${r.summary.critical} critical, ${r.summary.warning} warning, ${r.summary.info} info across ${r.summary.nodesOk}/${r.summary.nodes} nodes`);
  return `${out.join('\n')}\n`;
}
