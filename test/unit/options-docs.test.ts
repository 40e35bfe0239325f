import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadOptions, OptionsError, parseDuration } from '../../src/config/options.js';
import { OPTION_TABLE } from '../../src/config/option-table.js';
import { ALL_FINDING_CODES, FINDING_CODES } from '../../src/domain/finding-codes.js';
import { withOptionsTable } from '../../scripts/gen-docs.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('options', () => {
  it('defaults, then env, then flags', () => {
    const env = { TAGDRIFT_RUNTIME_ENDPOINT: '/env.sock', TAGDRIFT_FAIL_ON: 'critical' };
    const o = loadOptions('scan', ['--runtime-endpoint', 'unix:///flag.sock', '-o', 'json', '--runtime-timeout=2s'], env);
    expect(o.runtimeEndpoint).toBe('unix:///flag.sock');
    expect(o.failOn).toBe('critical');
    expect(o.output).toBe('json');
    expect(o.runtimeTimeoutMs).toBe(2000);
    expect(o.kubeTimeoutMs).toBe(10_000);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('reports every problem at once', () => {
    let err: unknown;
    try {
      loadOptions('scan', ['--bogus', '--fail-on', 'sometimes', '--runtime-timeout', 'soon', '--output'], {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OptionsError);
    const problems = (err as OptionsError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/--bogus[\s\S]*--output needs a value[\s\S]*--runtime-timeout[\s\S]*--fail-on/);
  });

  it('parses durations', () => {
    expect([parseDuration('500ms'), parseDuration('10s'), parseDuration('5m'), parseDuration('1.5s'), parseDuration('x')]).toEqual([500, 10_000, 300_000, 1500, undefined]);
  });

  it('every option has one flag, one env var and help', () => {
    expect(new Set(OPTION_TABLE.map((o) => o.flag)).size).toBe(OPTION_TABLE.length);
    expect(new Set(OPTION_TABLE.map((o) => o.env)).size).toBe(OPTION_TABLE.length);
    for (const o of OPTION_TABLE) expect(o.help.length).toBeGreaterThan(10);
  });
});

describe('docs follow the code', () => {
  it('the README options table is the generated one (npm run docs)', () => {
    expect(withOptionsTable(readme)).toBe(readme);
  });

  it('every catalogued finding code has a README section with its severity', () => {
    for (const code of ALL_FINDING_CODES) {
      const anchor = FINDING_CODES[code].anchor;
      const section = readme.split(`### ${anchor}\n`)[1];
      expect(section, `README section ### ${anchor}`).toBeDefined();
      expect(section!.split('\n###')[0]).toContain(`**${FINDING_CODES[code].severity}`);
    }
  });

  it('docs/architecture.md lists every source file with its header (npm run docs), and every file has a header', async () => {
    const { architectureWithIndex, sourceIndex } = await import('../../scripts/source-index.js');
    const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
    expect(doc).toBe(architectureWithIndex(doc));
    expect(sourceIndex()).not.toContain('(no header comment)');
  });
});
