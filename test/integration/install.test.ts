/**
 * The README's command-line install, run as written (the lines between the install-cli
 * markers) in a copy of the repository, with npm's global prefix in a temp dir: it must
 * leave working `tagdrift` and `kubectl tagdrift` commands, print no npm warnings (engine
 * or install-script), and the version must be the package's, on the pinned Node.js.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'tagdrift-install-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function readmeBlock(marker: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- ${marker} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n<!-- /${marker} -->`).exec(readme);
  if (!m) throw new Error(`README has no ${marker} block`);
  return m[1]!;
}

it('the README install gives working tagdrift and kubectl tagdrift, without npm warnings', () => {
  const clone = join(work, 'tagdrift');
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(clone, f)), { recursive: true });
    try {
      cpSync(join(ROOT, f), join(clone, f));
    } catch {
      // listed but deleted in the working tree
    }
  }
  const prefix = join(work, 'prefix');
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', readmeBlock('install-cli')], {
    cwd: clone,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env['PATH']}`, npm_config_prefix: prefix, npm_config_update_notifier: 'false' },
    timeout: 240_000,
  });
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.status, out).toBe(0);
  const node = spawnSync('node', ['--version'], { encoding: 'utf8' }).stdout.trim();
  expect(r.stdout.trim().split('\n').filter((l) => l.startsWith('tagdrift '))).toEqual([`tagdrift ${version} (node ${node})`, `tagdrift ${version} (node ${node})`]);
  expect(out).not.toMatch(/EBADENGINE|npm warn|npm WARN/);
  // The optional Kubernetes client (kubeconfig support) comes with an npm install; only the image leaves it out.
  expect(existsSync(join(prefix, 'lib', 'node_modules', 'tagdrift', 'node_modules', '@kubernetes', 'client-node', 'package.json'))).toBe(true);
}, 300_000);
