/**
 * A real registry that requires token auth (distribution's JWT token auth, a small
 * token service in the tests): containerd pulls with credentials, CI re-pushes, and
 * tagdrift checks the tag with credentials from a docker config.json. Without them
 * the tag is check-failed (auth), never fresh or stale; no credential leaks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { buildImage, pushImage } from '../../testbed/images.js';
import { startRegistry, type RunningRegistry } from '../../testbed/registry.js';
import { startTokenServer, type TokenServer } from '../../testbed/token-server.js';
import { runCli } from '../helpers/cli.js';

const USER = 'ci-robot';
const PASSWORD = 'canary-pw-5d2e9a71';
let bed: TestBed;
let tokens: TokenServer;
let secured: RunningRegistry;
let authFile: string;
let oldDigest: string;
let newDigest: string;

beforeAll(async () => {
  bed = await TestBed.start({ nodeName: 'node-auth' });
  tokens = await startTokenServer(bed.dir, { [USER]: PASSWORD });
  secured = await startRegistry(bed.dir, 'secured', { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundle: tokens.certFile });
  bed.containerd.writeRoutes([{ host: secured.host, serverUrl: secured.url }]);
  const creds = { username: USER, password: PASSWORD };
  const v1 = await buildImage(join(bed.dir, 'images'), 'private-v1', { version: '7.0.0' });
  await pushImage(v1, `${secured.host}/private/app:7`, creds);
  oldDigest = v1.manifestDigest;
  await bed.kubelet.runPod({
    namespace: 'private', name: 'app-0', owner: { kind: 'StatefulSet', name: 'app' },
    containers: [{ name: 'app', image: `${secured.host}/private/app:7`, imagePullPolicy: 'IfNotPresent', auth: creds }],
  });
  const v2 = await buildImage(join(bed.dir, 'images'), 'private-v2', { version: '7.0.1' });
  await pushImage(v2, `${secured.host}/private/app:7`, creds);
  newDigest = v2.manifestDigest;
  authFile = join(bed.dir, 'config.json');
  writeFileSync(authFile, JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
}, 180_000);

afterAll(async () => {
  await secured?.stop();
  await tokens?.stop();
  await bed?.stop();
});

describe('a registry with token auth on the real node', () => {
  it('anonymous: the registry refuses, so the tag is check-failed (auth) and neither fresh nor stale', async () => {
    const res = await runCli(['scan', ...bed.scanArgs(), '-o', 'json']);
    const report = JSON.parse(res.stdout) as Report;
    const tag = `${secured.host}/private/app:7`;
    expect(report.findings.filter((f) => f.image === tag && ['running-stale', 'running-superseded'].includes(f.code))).toEqual([]);
    expect(report.findings.find((f) => f.code === 'check-failed' && f.image === tag)?.evidence).toMatchObject({ reason: 'auth' });
  });

  it('with a config.json: the token flow succeeds and the re-pushed tag is running-stale', async () => {
    const granted = tokens.requests.filter((r) => r.granted).length;
    const res = await runCli(['scan', ...bed.scanArgs(), '-o', 'json', '--registry-auth-file', authFile, '--log-level', 'debug']);
    const report = JSON.parse(res.stdout) as Report;
    const f = report.findings.find((x) => x.code === 'running-stale' && x.image === `${secured.host}/private/app:7`);
    expect(f, JSON.stringify(report.findings.map((x) => [x.code, x.image, x.evidence['reason']]))).toBeDefined();
    expect(f!.evidence).toMatchObject({ runningDigest: oldDigest, registryDigest: newDigest, registryBuild: { version: '7.0.1' } });
    expect(tokens.requests.filter((r) => r.granted).length).toBeGreaterThan(granted);
    // The credential appears nowhere: not in the report, not in debug logs.
    const b64 = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    for (const out of [res.stdout, res.stderr]) {
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(b64);
    }
  });

  it('a config.json that is not JSON is a usage error naming the file, not its contents', async () => {
    const bad = join(bed.dir, 'bad.json');
    writeFileSync(bad, `{"auths": ${PASSWORD}`);
    const res = await runCli(['scan', ...bed.scanArgs(), '-o', 'json', '--registry-auth-file', bad]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${bad}: not valid JSON`);
    expect(res.stderr).not.toContain(PASSWORD);
  });
});
