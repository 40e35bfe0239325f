/** CRI-O's configuration findings: files it cannot load, what is not modelled, mirrors that resolve tags. */
import { locationHasPath, pathPrefixes, type CrioRegistriesRead } from './plan.js';
import type { RegistryPlan } from '../../domain/registry-config.js';
import type { Finding } from '../../domain/report.js';
import { mirrorResolvesFinding, problemFinding } from '../../domain/config-findings.js';

/** CRI-O's registries.conf: files it cannot load, what is not modelled, mirrors that resolve tags. */
export function crioConfigFindings(read: CrioRegistriesRead, plans: readonly RegistryPlan[]): Finding[] {
  const out: Finding[] = read.problems.map((p) => problemFinding('config-error', p, 'Fix the file: CRI-O (containers/image) fails every pull while registries.conf or a drop-in does not load.'));
  const unmodelled = [
    ...pathPrefixes(read).map((r) => `prefix "${r.prefix}" (${r.file}) names a repository path: planned per registry host here`),
    ...read.registries.flatMap((r) => [r.location, ...r.mirrors.map((m) => m.location)].filter(locationHasPath).map((l) => `location "${l}" (${r.file}) rewrites repositories: asked at its host without the path`)),
  ];
  if (unmodelled.length > 0) {
    out.push({
      code: 'check-failed',
      severity: 'warning',
      message: `Part of registries.conf is not modelled by tagdrift, so answers for these registries may not be what CRI-O pulls: ${unmodelled.slice(0, 3).join('; ')}${unmodelled.length > 3 ? '; …' : ''}`,
      image: undefined,
      containers: [],
      evidence: { reason: 'registries-conf-not-modelled', details: unmodelled.slice(0, 20) },
      remediation: 'Prefer host-level [[registry]] entries with host-only mirror locations, or check those registries by hand.',
    });
  }
  for (const plan of plans) if (plan.mirrorResolves) out.push(mirrorResolvesFinding(plan));
  return out;
}

