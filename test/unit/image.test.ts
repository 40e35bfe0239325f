/**
 * The Dockerfile (the conventional build) and scripts/build-image.ts (the daemonless one,
 * which the real-bed test runs through CRI) describe the same image: the Dockerfile's
 * final stage is read the way `docker build` reads it and compared with what the builder
 * writes into the image config, and both follow .node-version.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IMAGE_CONFIG } from '../../scripts/build-image.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** Instructions of the last stage, continuation lines joined, comments dropped. */
function finalStage(text: string): { op: string; arg: string }[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const ins = lines.map((l) => ({ op: l.split(/\s+/)[0]!.toUpperCase(), arg: l.slice(l.split(/\s+/)[0]!.length).trim() }));
  const from = ins.map((i) => i.op).lastIndexOf('FROM');
  return ins.slice(from);
}

/** ENV key=value pairs, with "quoted" values (the `ENV k=v` form). */
function envPairs(arg: string): [string, string][] {
  return [...arg.matchAll(/(\w+)=("([^"]*)"|\S+)/g)].map((m) => [m[1]!, m[3] ?? m[2]!]);
}

const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
const stage = finalStage(dockerfile);
const one = (op: string) => {
  const all = stage.filter((i) => i.op === op);
  expect(all, op).toHaveLength(1);
  return all[0]!.arg;
};

describe('Dockerfile and the daemonless image agree', () => {
  it('entrypoint, cmd, user, working dir and exposed port', () => {
    expect(JSON.parse(one('ENTRYPOINT'))).toEqual(IMAGE_CONFIG.entrypoint);
    expect(JSON.parse(one('CMD'))).toEqual(IMAGE_CONFIG.cmd);
    expect(one('USER')).toBe(IMAGE_CONFIG.user);
    expect(one('WORKDIR')).toBe(IMAGE_CONFIG.workingDir);
    expect(one('EXPOSE').split(/\s+/).map((p) => (p.includes('/') ? p : `${p}/tcp`))).toEqual(IMAGE_CONFIG.exposedPorts);
  });

  it('every ENV the Dockerfile sets has the same value in the image (PATH comes from the node base image)', () => {
    const env = Object.fromEntries(stage.filter((i) => i.op === 'ENV').flatMap((i) => envPairs(i.arg)));
    expect(Object.keys(env).sort()).toEqual(Object.keys(IMAGE_CONFIG.env).filter((k) => k !== 'PATH').sort());
    for (const [k, v] of Object.entries(env)) expect(IMAGE_CONFIG.env[k], k).toBe(v);
  });

  it('the same entries under /app', () => {
    const dests = stage.filter((i) => i.op === 'COPY').map((i) => i.arg.split(/\s+/).pop()!);
    const under = dests.filter((d) => !d.startsWith('/') || d.startsWith('/app/')).map((d) => d.replace(/^\/app\//, '').replace(/^\.\//, '').split('/')[0]!);
    // `COPY … package.json ./` lands as /app/package.json
    const copied = stage.filter((i) => i.op === 'COPY' && / \.\/$/.test(i.arg)).map((i) => i.arg.split(/\s+/).slice(-2)[0]!.split('/').pop()!);
    const entries = new Set([...under.filter((e) => e !== ''), ...copied]);
    expect([...entries].sort()).toEqual([...IMAGE_CONFIG.appEntries].sort());
  });

  it('both build on the Node.js major in .node-version', () => {
    const major = readFileSync(`${ROOT}.node-version`, 'utf8').trim().split('.')[0];
    const froms = dockerfile.split('\n').filter((l) => /^FROM /.test(l));
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) expect(f, f).toMatch(new RegExp(`^FROM node:${major}-`));
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${major}`);
  });
});
