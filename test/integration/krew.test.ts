/**
 * The kubectl plugin as krew would install it (there is no krew binary here: this test does
 * what `kubectl krew install --manifest --archive` does): the manifest follows krew's Plugin
 * schema (v1alpha2) and names the archive by its sha256; the archive, unpacked into a fresh
 * directory, has the `bin` the manifest names, and kubectl finds and runs it as a plugin.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, expect, it } from 'vitest';
import { buildKrew, RELEASE_URL } from '../../scripts/build-krew.js';

const work = mkdtempSync(join(tmpdir(), 'tagdrift-krew-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('the krew manifest and archive install a working kubectl tagdrift', () => {
  const built = buildKrew();
  const m = yaml.load(readFileSync(built.manifest, 'utf8')) as { apiVersion: string; kind: string; metadata: { name: string }; spec: { version: string; homepage: string; shortDescription: string; description: string; caveats: string; platforms: { selector: { matchLabels: Record<string, string> }; uri: string; sha256: string; bin: string }[] } };
  expect(m.apiVersion).toBe('krew.googlecontainertools.github.com/v1alpha2');
  expect(m.kind).toBe('Plugin');
  // krew's rules: a lowercase name, a semver version with v, a short description under 50 characters, platforms with selectors.
  expect(m.metadata.name).toMatch(/^[a-z][a-z0-9-]*$/);
  expect(m.spec.version).toBe(`v${built.version}`);
  expect(m.spec.shortDescription.length).toBeLessThan(50);
  expect(m.spec.homepage).toMatch(/^https:\/\//);
  expect(m.spec.platforms.map((p) => p.selector.matchLabels['os'])).toEqual(['linux', 'darwin']);
  const sha = createHash('sha256').update(readFileSync(built.archive)).digest('hex');
  for (const p of m.spec.platforms) {
    expect(p.sha256).toBe(sha);
    expect(p.uri).toBe(RELEASE_URL(built.version));
  }
  // What krew does on install: unpack into its store, link the bin into its bin dir on PATH.
  const store = join(work, 'store', 'tagdrift', m.spec.version);
  const bin = join(work, 'bin');
  mkdirSync(store, { recursive: true });
  mkdirSync(bin, { recursive: true });
  execFileSync('tar', ['-xzf', built.archive, '-C', store]);
  symlinkSync(join(store, m.spec.platforms[0]!.bin), join(bin, 'kubectl-tagdrift'));
  const env = { ...process.env, PATH: `${bin}:${process.env['PATH']}` };
  const list = spawnSync('kubectl', ['plugin', 'list'], { env, encoding: 'utf8' });
  expect(list.stdout).toContain(join(bin, 'kubectl-tagdrift'));
  const run = spawnSync('kubectl', ['tagdrift', '--version'], { env, encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`^tagdrift ${built.version.replace(/\./g, '\\.')} \\(node v\\d+`));
  // The archive carries production dependencies only.
  const files = execFileSync('tar', ['-tzf', built.archive], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).split('\n');
  expect(files.filter((f) => /node_modules\/(vitest|typescript|tsx|playwright-core)\//.test(f))).toEqual([]);
}, 180_000);
