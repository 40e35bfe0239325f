/**
 * A path the user named explicitly must exist: a misspelt `--kubeconfig` or `--containerd-config`
 * is a usage error (exit 2) naming the path, never a quieter scan that looks clean.
 */
import { existsSync } from 'node:fs';
import { OptionsError } from '../config/options.js';
import { type Options } from '../config/option-table.js';
import { resolveInRoot } from '../adapters/node-files/host-files.js';

export function checkExplicitPaths(options: Pick<Options, 'kubeconfig' | 'containerdConfig' | 'hostRoot'>, which: readonly ('kubeconfig' | 'containerdConfig')[]): void {
  const problems: string[] = [];
  if (which.includes('kubeconfig') && options.kubeconfig) {
    // A KUBECONFIG list is merged as kubectl merges it (missing entries skipped); one path must exist.
    const list = options.kubeconfig.split(':').filter(Boolean);
    if (list.length === 1 && !existsSync(list[0]!)) problems.push(`--kubeconfig ${list[0]}: no such file`);
    else if (list.length > 1 && !list.some((p) => existsSync(p))) problems.push(`KUBECONFIG: none of ${list.join(', ')} exists`);
  }
  if (which.includes('containerdConfig') && options.containerdConfig) {
    let real: string | undefined;
    try {
      real = resolveInRoot(options.hostRoot, options.containerdConfig);
    } catch {
      real = undefined;
    }
    if (!real || !existsSync(real)) {
      problems.push(`--containerd-config ${options.containerdConfig}: no such file${options.hostRoot && options.hostRoot !== '/' ? ` under --host-root ${options.hostRoot}` : ''}`);
    }
  }
  if (problems.length > 0) throw new OptionsError(problems);
}
