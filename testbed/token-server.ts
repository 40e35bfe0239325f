/**
 * A small token service for a registry with distribution's token auth: checks
 * basic credentials (GET, as skopeo and tagdrift ask) or an OAuth password grant
 * (POST, as containerd asks first), and returns an RS256 JWT granting the scopes asked
 * for, signed by a key whose self-signed certificate the registry trusts (x5c header).
 */
import { createPrivateKey, createSign, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { run } from './proc.js';

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certFile: string;
  /** Token requests seen: method and whether credentials were valid. */
  readonly requests: { method: string; granted: boolean }[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

export async function startTokenServer(dir: string, users: Record<string, string>): Promise<TokenServer> {
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=tagdrift-test-token']);
  const key = createPrivateKey(readFileSync(keyFile));
  const der = new X509Certificate(readFileSync(certFile)).raw;
  const service = 'tagdrift-test-registry';
  const issuer = 'tagdrift-test-issuer';
  const requests: { method: string; granted: boolean }[] = [];

  const sign = (subject: string, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const m = /^repository:([^:]+):(.+)$/.exec(s);
      return m ? [{ type: 'repository', name: m[1], actions: m[2]!.split(',') }] : [];
    });
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: subject, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: `${now}-${Math.random()}`, access }));
    const signature = createSign('RSA-SHA256').update(`${header}.${claims}`).sign(key);
    return `${header}.${claims}.${b64url(signature)}`;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      let user: string | undefined;
      let password: string | undefined;
      let scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' '));
      if (req.method === 'POST') {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        user = form.get('username') ?? undefined;
        password = form.get('password') ?? undefined;
        scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
      } else {
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (basic) {
          const decoded = Buffer.from(basic, 'base64').toString('utf8');
          const i = decoded.indexOf(':');
          user = decoded.slice(0, i);
          password = decoded.slice(i + 1);
        }
      }
      const granted = user !== undefined && users[user] === password;
      requests.push({ method: req.method ?? '', granted });
      if (!granted) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"details":"invalid credentials"}');
        return;
      }
      const token = sign(user!, scopes);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(join(dir, 'token-server.port'), String(port));
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
