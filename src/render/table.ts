/** Human output of a Report: a header, one block per finding, and a summary line. */
import { shortDigest } from '../domain/image-ref.js';
import type { Severity } from '../domain/finding-codes.js';
import type { Finding, Report } from '../domain/report.js';
import { buildsOf, digestsOf, isRegistryFailure, isStale, mirrorLagOf, movedAtOf, type RegistryCheckFailedEvidence } from '../domain/evidence.js';
import { formatSeconds } from '../domain/tag-truth.js';

type FailedGroup = { readonly f: Finding; readonly e: RegistryCheckFailedEvidence }[];

const COLORS: Record<Severity, string> = { critical: '\x1b[31;1m', warning: '\x1b[33;1m', info: '\x1b[36m' };
const RESET = '\x1b[0m';
/** More check-failed findings than this at one endpoint for one reason are shown as one block. */
const COLLAPSE_AT = 3;

export interface TableOptions {
  readonly color: boolean;
  /** `-o wide`: full digests, every container, no collapsing. */
  readonly wide?: boolean;
}

export function renderTable(report: Report, opts: TableOptions | boolean): string {
  const o: TableOptions = typeof opts === 'boolean' ? { color: opts } : opts;
  const out: string[] = [];
  const rt = report.runtime ? `${report.runtime.name} ${report.runtime.version} (CRI ${report.runtime.apiVersion})` : 'unavailable';
  const running = report.containers.filter((c) => c.state === 'running').length;
  out.push(`node ${report.node || '(unknown)'}   runtime ${rt}   scanned ${report.generatedAt}`);
  out.push(
    `${report.images.length} images, ${running} running containers; pod intent from ` +
      (report.intentSource === 'kubernetes' ? 'the Kubernetes API' : 'CRI only (Kubernetes API not available)'),
  );
  out.push('');
  out.push(renderFindings(report.findings, o));
  return `${out.join('\n')}\n`;
}

/** One block per finding, then the severity summary line. */
export function renderFindings(findings: readonly Finding[], opts: TableOptions | boolean): string {
  const { color, wide = false } = typeof opts === 'boolean' ? { color: opts } : opts;
  const digest = (d: string) => (wide ? d : shortDigest(d));
  const maxContainers = wide ? Infinity : 10;
  const out: string[] = [];
  const paint = (s: Severity, text: string) => (color ? `${COLORS[s]}${text}${RESET}` : text);
  if (findings.length === 0) out.push('No findings.');
  out.push('');
  // Many tags failing at one endpoint for one reason (a registry outage) read as one block.
  const failed = new Map<string, FailedGroup>();
  for (const f of findings) {
    if (f.code !== 'check-failed' || !isRegistryFailure(f.evidence)) continue;
    const key = `${f.evidence.endpoint}|${f.evidence.role}|${f.evidence.reason}`;
    const list = failed.get(key);
    if (list) list.push({ f, e: f.evidence });
    else failed.set(key, [{ f, e: f.evidence }]);
  }
  const groupOf = new Map<Finding, FailedGroup>();
  for (const group of failed.values()) if (!wide && group.length > COLLAPSE_AT) for (const { f } of group) groupOf.set(f, group);
  for (const f of findings) {
    const group = groupOf.get(f);
    if (group) {
      if (group[0]!.f === f) out.push(...collapsedBlock(group, paint));
      continue;
    }
    out.push(`${paint(f.severity, f.severity.toUpperCase().padEnd(8))} ${f.code}${f.image ? `  ${f.image}` : ''}`);
    out.push(`         ${f.message}`);
    if (f.silenced) out.push(`         silenced by ${f.silenced.by}: not counted, no alert, no Event`);
    for (const c of f.containers.slice(0, maxContainers)) out.push(`         - ${c.namespace ?? '?'}/${c.pod ?? '?'} container ${c.container}`);
    if (f.containers.length > maxContainers) out.push(`         … and ${f.containers.length - maxContainers} more (-o wide lists them)`);
    const digests = digestsOf(f).map((d) => `${d.key} ${digest(d.digest)}`);
    if (digests.length > 0) out.push(`         ${digests.join('   ')}`);
    const builds = buildsOf(f).map(({ role, build: b }) => `${role} build ${[b.version, b.revision, b.created].filter(Boolean).join(' ')}`);
    if (builds.length > 0) out.push(`         ${builds.join('   ')}`);
    const moved = movedAtOf(f);
    const lag = mirrorLagOf(f);
    if (moved || lag) {
      out.push(`         ${[moved ? `upstream moved at ${moved.at}${moved.announced ? ' (registry notification)' : ''}` : '', lag ? `mirror behind ${lag.atLeast ? '≥ ' : ''}${formatSeconds(lag.seconds)}` : ''].filter(Boolean).join('   ')}`);
    }
    if (f.confirmed?.heldThrough) out.push(`         last confirmed ${f.confirmed.at}; held through ${f.confirmed.heldThrough.join('; ')}`);
    const lines = f.remediation.split('\n');
    for (const line of lines) out.push(line.startsWith('Lasting fix:') ? `         ${line}` : `         fix: ${line}`);
    out.push('');
  }
  const count = (sev: Severity) => findings.filter((f) => f.severity === sev && !f.silenced).length;
  const stale = new Set(findings.filter((f) => isStale(f) && !f.silenced).map((f) => f.image ?? f.code)).size;
  out.push(`${count('critical')} critical, ${count('warning')} warning, ${count('info')} info` + (stale > 0 ? `; ${stale} tag${stale === 1 ? '' : 's'} stale (a newer image is behind the tag)` : ''));
  return out.join('\n');
}

function collapsedBlock(group: FailedGroup, paint: (s: Severity, t: string) => string): string[] {
  const { f: first, e } = group[0]!;
  const out = [
    `${paint(first.severity, first.severity.toUpperCase().padEnd(8))} check-failed  ${group.length} tags at ${e.endpoint} (${e.role})`,
    `         ${e.reason}: ${e.detail}. They are reported neither fresh nor stale.`,
    ...group.slice(0, 5).map(({ f }) => `         - ${f.image ?? '?'}`),
  ];
  if (group.length > 5) out.push(`         ... and ${group.length - 5} more (-o json lists them)`);
  out.push(`         fix: ${first.remediation}`, '');
  return out;
}
