/** Human output of the registry plan: per registry the endpoints in try order, and the config findings. */
import type { Finding, RegistriesSection } from '../domain/report.js';
import { renderFindings, type TableOptions } from './table.js';

export function renderRegistries(r: RegistriesSection & { findings: readonly Finding[] }, opts: TableOptions | boolean): string {
  const out: string[] = [];
  out.push(`config ${r.configFile}   rules: ${r.rules}`);
  out.push(`hosts.toml roots: ${r.configPath.roots.length > 0 ? r.configPath.roots.join(', ') : '(none)'} (${r.configPath.source})`);
  out.push('');
  for (const plan of r.registries) {
    out.push(`${plan.registry}   (${plan.mode})   tags resolved by ${plan.resolvesTagsVia}${plan.mirrorResolves ? '  ← a mirror' : ''}`);
    plan.endpoints.forEach((e, i) => {
      const flags = [e.capabilities.join(','), e.skipVerify ? 'skip_verify' : '', e.headerNames.length ? `headers: ${e.headerNames.join(',')}` : '']
        .filter(Boolean)
        .join('  ');
      out.push(`  ${i + 1}. ${e.url.padEnd(40)} ${flags}`);
      out.push(`     from ${e.source}`);
    });
    out.push('');
  }
  out.push(renderFindings(r.findings, opts));
  return `${out.join('\n')}\n`;
}
