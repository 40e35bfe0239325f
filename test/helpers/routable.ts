/**
 * An address of this machine that is not loopback or link-local, so that the shared
 * resolver (which never answers for node-local addresses) can be tested with registries on
 * this machine: the first non-internal IPv4 address, else 198.18.0.1 (RFC 2544's benchmark
 * range) added to the loopback interface for the run and removed by the returned cleanup.
 */
import { execFileSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';

export function routableAddress(): { address: string; cleanup: () => void } {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return { address: a.address, cleanup: () => undefined };
  }
  const address = '198.18.0.1';
  execFileSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']);
  return { address, cleanup: () => execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']) };
}
