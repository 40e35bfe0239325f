/**
 * Setup file of the unit tier: a test during which any fake CRI server saw a call
 * outside the read-only allow-list fails, naming the call (see allow-list-guard.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { afterAll, afterEach, beforeEach } from 'vitest';

const log = process.env['TAGDRIFT_CRI_CALL_LOG'];
let offset = 0;

function newViolations(): string {
  if (!log || !existsSync(log)) return '';
  const text = readFileSync(log, 'utf8').slice(offset);
  offset += text.length;
  return text.trim();
}

function check(): void {
  const seen = newViolations();
  if (seen) throw new Error(`CRI allow-list violated:\n${seen}`);
}

beforeEach(() => {
  offset = log && existsSync(log) ? statSync(log).size : 0;
});
afterEach(check);
afterAll(check);
