/** A real distribution registry (Debian's docker-registry) on a loopback port, storage in the bed's temp dir. */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

/** distribution's basic auth: users from an htpasswd file (bcrypt), the way a small private registry runs. */
export interface HtpasswdAuthConfig {
  readonly htpasswd: { readonly realm: string; readonly users: Readonly<Record<string, string>> };
}

/** An htpasswd line with a bcrypt hash, made by the system's crypt(3) (libxcrypt's `$2b$`) through perl. */
function htpasswdLine(user: string, password: string): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const salt = Array.from(randomBytes(21), (b) => alphabet[b % 64]).join('') + '.';
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${salt}`], { encoding: 'utf8' });
  if (!hash.startsWith('$2b$05$')) throw new Error('crypt(3) here does not make bcrypt hashes ($2b$)');
  return `${user}:${hash}`;
}

/** Where the registry sends its push notifications (distribution's `notifications.endpoints`), with a header. */
export interface NotificationTarget {
  readonly url: string;
  readonly authorization: string;
}

/** Starts a registry; with `port` (a restart) it reuses that port and the same storage. */
export async function startRegistry(dir: string, name: string, tokenAuth?: TokenAuthConfig | HtpasswdAuthConfig, port?: number, address = '127.0.0.1', notify?: NotificationTarget): Promise<RunningRegistry> {
  port ??= await freePort();
  const root = join(dir, name);
  mkdirSync(join(root, 'data'), { recursive: true });
  const config = join(root, 'config.yml');
  let authLines: string[] = [];
  if (tokenAuth && 'htpasswd' in tokenAuth) {
    const file = join(root, 'htpasswd');
    writeFileSync(file, Object.entries(tokenAuth.htpasswd.users).map(([u, p]) => htpasswdLine(u, p)).join('\n') + '\n');
    authLines = ['auth:', '  htpasswd:', `    realm: ${tokenAuth.htpasswd.realm}`, `    path: ${file}`];
  } else if (tokenAuth) {
    authLines = ['auth:', '  token:', `    realm: ${tokenAuth.realm}`, `    service: ${tokenAuth.service}`, `    issuer: ${tokenAuth.issuer}`, `    rootcertbundle: ${tokenAuth.rootCertBundle}`];
  }
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
      ...authLines,
      // As the README tells users to write it: one endpoint, the secret in a header, short retries.
      ...(notify
        ? ['notifications:', '  endpoints:', '    - name: tagdrift', `      url: ${notify.url}`, '      headers:', `        Authorization: [${JSON.stringify(notify.authorization)}]`,
          '      timeout: 2s', '      threshold: 5', '      backoff: 1s', '      ignoredmediatypes: [application/octet-stream]']
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
