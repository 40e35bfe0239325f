/**
 * Vitest global setup: every fake CRI server in the run appends allow-list
 * violations (a method outside the read-only allow-list, a verbose ContainerStatus)
 * to one file. Each test is failed by the violations made while it ran
 * (test/fakes/allow-list-check.ts); anything left after the whole run (a call made
 * outside any test) fails the run here, with a non-zero exit code.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const log = join(tmpdir(), `tagdrift-cri-calls-${process.pid}.jsonl`);
  writeFileSync(log, '');
  process.env['TAGDRIFT_CRI_CALL_LOG'] = log;
  return () => {
    const lines = existsSync(log) ? readFileSync(log, 'utf8').trim() : '';
    rmSync(log, { force: true });
    if (lines.length > 0) {
      // A throw from a global teardown is only printed: the exit code must say it too.
      process.exitCode = 1;
      process.stderr.write(`\nCRI allow-list violated during the test run:\n${lines}\n`);
      throw new Error('CRI allow-list violated during the test run');
    }
  };
}
