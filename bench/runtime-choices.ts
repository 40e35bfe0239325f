/**
 * The figures behind two of the image's memory choices (docs/decisions.md), each in
 * fresh processes of the built CLI under the image's node flags and malloc settings:
 *
 * - fastify's default schema compilers (Ajv, fast-json-stringify) against the agent's
 *   own (src/server/schema-compilers.ts): RSS and anonymous memory after building the
 *   agent's app and answering one query, after a collection;
 * - `--no-node-snapshot`: start-up time of `tagdrift --version` with and without it
 *   (median of 15), and the node binary's resident pages after building the app.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IMAGE_CONFIG } from '../scripts/build-image.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
const APP = fileURLToPath(new URL('../dist/src/server/app.js', import.meta.url));
const METRICS = fileURLToPath(new URL('../dist/src/metrics/metrics.js', import.meta.url));
const imageFlags = IMAGE_CONFIG.entrypoint.slice(1, -1);
const env = { ...process.env, ...Object.fromEntries(Object.entries(IMAGE_CONFIG.env).filter(([k]) => k.startsWith('MALLOC_') || k === 'NODE_OPTIONS')) };
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Builds the agent's app in a fresh process; `defaults` swaps in fastify's own compilers. */
function appMemory(flags: string[], defaults: boolean): { rss: number; anon: number; file: number } {
  const script = `
    import { readFileSync } from 'node:fs';
    import Fastify from 'fastify';
    const { buildApp } = await import(${JSON.stringify(APP)});
    const { Metrics } = await import(${JSON.stringify(METRICS)});
    const view = { report: undefined, status: {}, ready: () => ({ ready: false, reason: 'x' }), live: () => ({ live: true, reason: 'ok' }) };
    const app = await buildApp({ agent: view, metrics: new Metrics({ version: 'b' }), version: 'b' });
    ${defaults ? "const d = Fastify({ logger: false }); d.get('/q', { schema: { querystring: { type: 'object', additionalProperties: false, properties: { code: { type: 'string', enum: ['a'] }, ns: { type: 'string', pattern: '^[a-z]+$' } } }, response: { 200: { type: 'object', properties: { a: { type: 'string' } } } } } }, async () => ({ a: 'x' })); await d.ready(); await d.inject('/q?code=a');" : ''}
    await app.inject('/v1/findings?severity=critical');
    await new Promise((r) => setTimeout(r, 300));
    globalThis.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const kb = (k) => Number(new RegExp('^' + k + ':\\\\s+(\\\\d+)', 'm').exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]) / 1024;
    console.log(JSON.stringify({ rss: kb('Rss'), anon: kb('Anonymous') }));`;
  const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', script], { cwd: ROOT, env, encoding: 'utf8' });
  const r = JSON.parse(out.trim().split('\n').at(-1)!) as { rss: number; anon: number };
  return { ...r, file: r.rss - r.anon };
}

function startMs(flags: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    execFileSync(process.execPath, [...flags, MAIN, '--version'], { env, stdio: 'ignore' });
    times.push(performance.now() - t);
  }
  return median(times);
}

export async function benchRuntimeChoices(): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = { 'image node flags': imageFlags.join(' ') };
  const runs = 3;
  const ours: ReturnType<typeof appMemory>[] = [];
  const theirs: ReturnType<typeof appMemory>[] = [];
  for (let i = 0; i < runs; i++) {
    ours.push(appMemory(imageFlags, false));
    theirs.push(appMemory(imageFlags, true));
  }
  const fmt = (xs: ReturnType<typeof appMemory>[], k: 'rss' | 'anon' | 'file'): string => median(xs.map((x) => x[k])).toFixed(1);
  out['agent app, own schema compilers: RSS / anonymous (MiB, median of 3)'] = `${fmt(ours, 'rss')} / ${fmt(ours, 'anon')}`;
  out['… plus fastify default compilers (Ajv, fast-json-stringify) loaded and used: RSS / anonymous'] = `${fmt(theirs, 'rss')} / ${fmt(theirs, 'anon')}`;
  const noSnap = imageFlags;
  const snap = imageFlags.filter((f) => f !== '--no-node-snapshot');
  const withSnapshot = [appMemory(snap, false), appMemory(snap, false), appMemory(snap, false)];
  out['agent app, binary pages resident (MiB): --no-node-snapshot / with the snapshot'] = `${fmt(ours, 'file')} / ${fmt(withSnapshot, 'file')}`;
  out['tagdrift --version (ms, median of 15): --no-node-snapshot / with the snapshot'] = `${startMs(noSnap).toFixed(0)} / ${startMs(snap).toFixed(0)}`;
  return out;
}
