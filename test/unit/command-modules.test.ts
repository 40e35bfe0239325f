/**
 * Each command loads only its own modules: importing a command's module (as `tagdrift <command>`
 * does) must not pull in another command's machinery. Checked on the built CLI with Node.js's
 * module hooks, which see every module the import loads.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../../dist/src/', import.meta.url));

function modulesLoadedBy(command: string): string[] {
  const script = `
    const { registerHooks } = await import('node:module');
    const seen = new Set();
    registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); if (r.url.startsWith('file:')) seen.add(r.url); return r; } });
    await import(${JSON.stringify(`${DIST}cli/${command}.js`)});
    process.stdout.write(JSON.stringify([...seen]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return (JSON.parse(out) as string[]).map((u) => fileURLToPath(u)).filter((p) => p.startsWith(DIST)).map((p) => p.slice(DIST.length));
}

describe('each command loads only its own modules', () => {
  it('tagdrift resolver loads no part of the agent, the scan, the analysis or the report page', () => {
    const loaded = modulesLoadedBy('resolver');
    expect(loaded).toContain('resolver/resolver.js');
    expect(loaded.filter((p) => /^(agent|scan\/scan|report|checks|runtimes|render|metrics|cluster)\b|^server\/app|^cli\/agent/.test(p))).toEqual([]);
  });

  it('tagdrift scan loads no server, agent or cluster code', () => {
    const loaded = modulesLoadedBy('scan');
    expect(loaded).toContain('scan/scan.js');
    expect(loaded.filter((p) => /^(agent|server|resolver|cluster|metrics)\//.test(p))).toEqual([]);
  });

  it('tagdrift cluster loads no runtime, scan or agent code', () => {
    const loaded = modulesLoadedBy('cluster');
    expect(loaded).toContain('cluster/collect.js');
    expect(loaded.filter((p) => /^(agent|scan|runtimes|checks|server|resolver)\/|^adapters\/cri/.test(p))).toEqual([]);
  });
});
