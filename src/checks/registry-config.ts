/** The node's registry configuration findings, from its runtime's profile (runtimes/<runtime>/findings.ts). */
import type { Finding } from '../domain/report.js';
import type { CheckContext } from './types.js';

export function checkRegistryConfig(ctx: CheckContext): Finding[] {
  return ctx.registry?.findings(ctx.registryPlans) ?? [];
}
