/**
 * Finding shapes every runtime's configuration findings share: a configuration problem with its
 * file and line (never content), and "a mirror resolves tags" from a registry plan.
 */
import type { ConfigProblem, RegistryPlan } from './registry-config.js';
import type { Finding } from './report.js';

export function formatProblem(p: ConfigProblem): string {
  const at = p.line !== undefined ? `:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : '';
  return `${p.file}${at}: ${p.reason}`;
}

export function problemFinding(code: 'config-error' | 'mirror-config-ignored', p: ConfigProblem, remediation: string): Finding {
  return {
    code,
    severity: code === 'config-error' ? 'critical' : 'warning',
    message: formatProblem(p),
    image: undefined,
    containers: [],
    evidence: { file: p.file, ...(p.line !== undefined ? { line: p.line, column: p.column } : {}), reason: p.reason },
    remediation,
  };
}

export function mirrorResolvesFinding(plan: RegistryPlan): Finding {
  const ep = plan.endpoints.find((e) => e.url === plan.resolvesTagsVia);
  return {
    code: 'mirror-resolves-tags',
    severity: 'info',
    message: `Tags of ${plan.registry} are resolved by ${plan.resolvesTagsVia}, not the registry itself: a caching mirror can answer a tag with an old digest`,
    image: undefined,
    containers: [],
    evidence: { registry: plan.registry, endpoint: plan.resolvesTagsVia, source: ep?.source, capabilities: ep?.capabilities },
    remediation: `Give caching mirrors capabilities = ["pull"] only, so tags are resolved upstream and the mirror serves content by digest; or deploy by digest.`,
  };
}
