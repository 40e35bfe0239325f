/** A real distribution registry (Debian's docker-registry) on a loopback port, storage in the bed's temp dir. */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, killPids, spawnLogged, waitFor } from './proc.js';

export interface RunningRegistry {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly url: string;
  readonly pid: number;
  /** The registry's log (requests are logged at info level). */
  readonly logFile: string;
  stop(): Promise<void>;
}

/** distribution's token auth: tokens are JWTs signed by the key of `rootCertBundle`. */
export interface TokenAuthConfig {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly rootCertBundle: string;
}

/** Starts a registry; with `port` (a restart) it reuses that port and the same storage. */
export async function startRegistry(dir: string, name: string, tokenAuth?: TokenAuthConfig, port?: number, address = '127.0.0.1'): Promise<RunningRegistry> {
  port ??= await freePort();
  const root = join(dir, name);
  mkdirSync(join(root, 'data'), { recursive: true });
  const config = join(root, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(root, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${address}:${port}`,
      ...(tokenAuth
        ? ['auth:', '  token:', `    realm: ${tokenAuth.realm}`, `    service: ${tokenAuth.service}`, `    issuer: ${tokenAuth.issuer}`, `    rootcertbundle: ${tokenAuth.rootCertBundle}`]
        : []),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawnLogged('docker-registry', ['serve', config], join(root, `registry.log`));
  const url = `http://${address}:${port}`;
  await waitFor(`registry ${name} on ${url}`, async () => [200, 401].includes((await fetch(`${url}/v2/`)).status));
  const pid = child.pid!;
  return {
    host: `${address}:${port}`,
    url,
    pid,
    logFile: join(root, 'registry.log'),
    stop: () => killPids([pid], 'SIGTERM'),
  };
}
