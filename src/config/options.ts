/**
 * Options from argv and the environment, read against the option table (option-table.ts).
 * Values are validated once, all errors are reported together, and the result is frozen.
 */
import { hostname } from 'node:os';
import { OPTION_TABLE, type Command, type Options, type OptionSpec } from './option-table.js';

/** Short forms, as kubectl spells them. */
const SHORT_FLAGS: Record<string, string> = { '-o': '--output', '-n': '--namespace', '-l': '--selector', '-A': '--all-namespaces', '--request-timeout': '--kube-timeout' };

export class OptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'OptionsError';
  }
}

/** `500ms`, `10s`, `5m`, `1h`, or a bare number of milliseconds. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

/** Parses argv (after the command) and the environment against the table for one command. */
export function loadOptions(command: Command, argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const specs = OPTION_TABLE.filter((s) => s.commands.includes(command));
  const byFlag = new Map(specs.map((s) => [s.flag, s]));
  const raw = new Map<OptionSpec, string>();
  const fromArgv = new Set<OptionSpec>();
  const problems: string[] = [];

  for (const spec of specs) {
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') raw.set(spec, fromEnv);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = byFlag.get(SHORT_FLAGS[flag] ?? flag);
    if (!spec) {
      problems.push(`unknown option ${JSON.stringify(flag)} for "${command}" (see tagdrift ${command} --help)`);
      continue;
    }
    if (spec.kind === 'bool') {
      raw.set(spec, eq > 0 ? arg.slice(eq + 1) : 'true');
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (value.startsWith('-') && value.length > 1 && eq < 0 && !/^-\d/.test(value))) {
      problems.push(`${spec.flag} needs a value`);
      if (value !== undefined) i--;
    } else {
      // A list flag may be repeated (kubectl --as-group a --as-group b): the values add up.
      raw.set(spec, spec.kind === 'list' && fromArgv.has(spec) ? `${raw.get(spec)},${value}` : value);
      fromArgv.add(spec);
    }
  }

  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const value = raw.get(spec) ?? spec.default;
    const source = raw.has(spec) ? `${spec.flag} / ${spec.env}` : 'default';
    if (value === undefined) {
      out[spec.key] = undefined;
      continue;
    }
    if (spec.kind === 'duration') {
      const ms = parseDuration(value);
      if (ms === undefined || (ms <= 0 && !(ms === 0 && spec.zeroMeansOff))) problems.push(`${spec.flag}: ${JSON.stringify(value)} is not a duration like 500ms, 10s or 5m (${source})`);
      out[spec.key] = ms;
    } else if (spec.kind === 'int') {
      const n = /^\d{1,6}$/.test(value.trim()) ? Number(value) : NaN;
      if (!(n > 0)) problems.push(`${spec.flag}: ${JSON.stringify(value)} is not a positive whole number (${source})`);
      out[spec.key] = n;
    } else if (spec.kind === 'bool') {
      if (!['true', 'false', '1', '0'].includes(value)) problems.push(`${spec.flag}: ${JSON.stringify(value)} is not true or false (${source})`);
      out[spec.key] = value === 'true' || value === '1';
    } else if (spec.kind === 'list') {
      out[spec.key] = value.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (typeof spec.kind === 'object') {
      if (!spec.kind.choices.includes(value)) {
        problems.push(`${spec.flag}: ${JSON.stringify(value)} is not one of ${spec.kind.choices.join(', ')} (${source})`);
      }
      out[spec.key] = value;
    } else {
      out[spec.key] = value;
    }
  }
  out['nodeName'] ??= hostname();
  // Values that are URLs or addresses are checked here, so a bad one is a usage error, not a failure later.
  const url = out['resolverUrl'];
  if (typeof url === 'string') {
    let ok = false;
    try {
      const u = new URL(url);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`--resolver-url: ${JSON.stringify(url)} is not an http(s) URL like http://tagdrift-resolver.tagdrift.svc:9421`);
  }
  if (problems.length > 0) throw new OptionsError(problems);
  return Object.freeze(out) as unknown as Options;
}

export function helpText(command: Command): string {
  const specs = OPTION_TABLE.filter((s) => s.commands.includes(command));
  const rows = specs.map((s) => {
    const choices = typeof s.kind === 'object' ? ` (${s.kind.choices.join('|')})` : '';
    const def = s.defaultLabel ?? s.default ?? '';
    return `  ${s.flag.padEnd(20)} ${s.help}${choices}\n  ${''.padEnd(20)} env ${s.env}${def ? `, default ${def}` : ''}`;
  });
  return rows.join('\n');
}

/** The README options table (Markdown), generated from OPTION_TABLE. */
export function optionsMarkdown(): string {
  const lines = ['| flag | env | default | commands | meaning |', '|---|---|---|---|---|'];
  for (const s of OPTION_TABLE) {
    const choices = typeof s.kind === 'object' ? ` (${s.kind.choices.join(', ')})` : '';
    const def = s.defaultLabel ?? s.default ?? '';
    lines.push(`| \`${s.flag}\` | \`${s.env}\` | ${def ? `\`${def.replace(/\|/g, '\\|')}\`` : ''} | ${s.commands.join(', ')} | ${s.help}${choices} |`);
  }
  return lines.join('\n');
}
