/**
 * Vitest global setup: every fake CRI server in the run appends allow-list
 * violations to one file; after the whole run, any line there fails the run.
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
    if (lines.length > 0) throw new Error(`CRI allow-list violated during the test run:\n${lines}`);
  };
}
