/**
 * The suite can fail: throwaway vitest runs with a deliberate CRI allow-list violation,
 * a verbose ContainerStatus, and a missing golden file must exit non-zero (and the golden
 * must not be written by the run).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

function vitest(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  delete childEnv['TAGDRIFT_CRI_CALL_LOG'];
  delete childEnv['VITEST'];
  delete childEnv['VITEST_POOL_ID'];
  delete childEnv['VITEST_WORKER_ID'];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VITEST, 'run', ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

describe('a run that breaks a guarantee fails', () => {
  const guard = ['--config', 'test/suite-guards/vitest.config.ts', '--reporter', 'dot'];

  it('a CRI method outside the allow-list fails the test that made it, and the run', async () => {
    const r = await vitest(guard, { GUARD_METHOD: 'RemoveImage' });
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain('forbidden CRI method RemoveImage called');
  }, 60_000);

  it('a verbose ContainerStatus fails the run', async () => {
    const r = await vitest(guard, { GUARD_METHOD: 'ContainerStatus' });
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain('ContainerStatus called with verbose=true');
  }, 60_000);

  it('a violation no test is charged with still makes the run exit non-zero', async () => {
    const r = await vitest(guard, { GUARD_METHOD: 'RemoveImage', GUARD_NO_PER_TEST: '1' });
    expect(r.out).toMatch(/1 passed/);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain('CRI allow-list violated during the test run');
  }, 60_000);

  it('a missing golden fails and is not written by the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagdrift-golden-'));
    try {
      const r = await vitest(['--project', 'unit', 'test/unit/node-configs.test.ts', '--reporter', 'dot'], { TAGDRIFT_GOLDEN_DIR: dir });
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toContain('npm run golden');
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
