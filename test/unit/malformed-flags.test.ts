/**
 * No input reaches the user as a stack trace: every typed option of every command is given a
 * malformed value through the built CLI, and so are the string options whose value has a form
 * (addresses, URLs, paths that must exist, ranges). Each is one line on stderr and exit 2.
 */
import { describe, expect, it } from 'vitest';
import { OPTION_TABLE, type Command } from '../../src/config/option-table.js';
import { runCli } from '../helpers/cli.js';

/** String and list options whose value has a form, with a value that breaks it. */
const FORMED: Record<string, string> = {
  '--listen': 'nonsense', '--probe-listen': 'nonsense:port', '--endpoints': 'http://[oops', '--resolver-url': 'not a url',
  '--kubeconfig': '/nonexistent/kubeconfig', '--containerd-config': '/nonexistent/config.toml', '--registry-auth-file': '/nonexistent/config.json',
  '--allow-endpoints': 'ftp://x', '--deny-cidrs': '10.0.0.0/99',
};
const COMMANDS: Command[] = ['scan', 'registries', 'agent', 'cluster', 'resolver'];

function cases(): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const command of COMMANDS) {
    for (const spec of OPTION_TABLE.filter((s) => s.commands.includes(command))) {
      let bad: string | undefined;
      if (spec.kind === 'duration') bad = 'soon';
      else if (spec.kind === 'int') bad = '-3';
      else if (spec.kind === 'bool') bad = 'maybe';
      else if (typeof spec.kind === 'object') bad = 'none-of-these';
      else bad = FORMED[spec.flag];
      // --kubeconfig is checked where it is used to scan (the resolver and the agent run without one in a pod).
      if (spec.flag === '--kubeconfig' && command !== 'scan') continue;
      if (spec.flag === '--containerd-config' && command === 'agent') continue;
      if (bad !== undefined) out.push([command, spec.flag, bad]);
    }
  }
  return out;
}

describe('malformed values, every command', () => {
  it.each(cases())('%s %s %s: one line, exit 2, no stack trace', async (command, flag, value) => {
    // Things the command would otherwise reach for are pointed nowhere, so nothing else fails first.
    const quiet = command === 'scan' || command === 'agent' ? ['--registry-checks', 'off', '--runtime-endpoint', 'unix:///nonexistent.sock'] : [];
    const args = flag === '--registry-checks' || flag === '--runtime-endpoint' ? [command, flag, value] : [command, ...quiet, flag, value];
    const r = await runCli(args, {}, 20_000);
    expect(r.stderr).not.toMatch(/\n\s+at |TypeError|RangeError|SyntaxError/);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(2);
    expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  });
});
