/**
 * A private registry whose credentials exist only in the node's config.toml
 * (`registry.configs."<host>".auth`, how k3s and RKE2 render registries.yaml and how
 * many hand-built nodes are set up): a real distribution registry with basic auth
 * (htpasswd), a real containerd that pulls with those credentials and nothing else, a
 * re-pushed tag. tagdrift uses the node's credentials for that host only, finds the
 * moved tag running-stale, leaves the unchanged one clean, and prints no secret.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { buildImage, pushImage } from '../../testbed/images.js';
import { startRegistry, type RunningRegistry } from '../../testbed/registry.js';
import { runCli } from '../helpers/cli.js';
import { join } from 'node:path';

const USER = 'node-puller';
const PASSWORD = 'canary-pw-node-7f3c1e';
const creds = { username: USER, password: PASSWORD };
let bed: TestBed;
let secured: RunningRegistry;
let moved: { old: string; now: string };
let steady: string;

function secretsIn(text: string): string[] {
  const b64 = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  return [PASSWORD, b64].filter((s) => text.includes(s));
}

let anonymousPull: string;

beforeAll(async () => {
  bed = await TestBed.start({ nodeName: 'node-creds' });
  secured = await startRegistry(bed.dir, 'basic', { htpasswd: { realm: 'private', users: { [USER]: PASSWORD } } });
  bed.containerd.writeRoutes([{ host: secured.host, serverUrl: secured.url }]);
  const images = join(bed.dir, 'images');
  const v1 = await buildImage(images, 'billing-v1', { version: '3.0.0' });
  await pushImage(v1, `${secured.host}/private/billing:3`, creds);
  const keep = await buildImage(images, 'ledger-v1', { version: '1.4.0' });
  await pushImage(keep, `${secured.host}/private/ledger:1.4`, creds);
  steady = keep.manifestDigest;
  // Control: without the node's credential, containerd cannot pull from this registry.
  anonymousPull = await bed.kubelet.pull(`${secured.host}/private/ledger:1.4`).then(() => 'pulled', (e: Error) => e.message);
  // The credential goes into config.toml only: kubelet sends none (no pull secret), tagdrift gets no auth file.
  appendFileSync(
    bed.containerd.configPath,
    `\n[plugins."io.containerd.grpc.v1.cri".registry.configs."${secured.host}".auth]\n  username = "${USER}"\n  password = "${PASSWORD}"\n`,
  );
  await bed.containerd.restart();
  await bed.kubelet.version();
  for (const [name, image] of [['billing', `${secured.host}/private/billing:3`], ['ledger', `${secured.host}/private/ledger:1.4`]] as const) {
    await bed.kubelet.runPod({
      namespace: 'private', name: `${name}-0`, owner: { kind: 'StatefulSet', name },
      containers: [{ name, image, imagePullPolicy: 'IfNotPresent' }],
    });
  }
  const v2 = await buildImage(images, 'billing-v2', { version: '3.0.1' });
  await pushImage(v2, `${secured.host}/private/billing:3`, creds);
  moved = { old: v1.manifestDigest, now: v2.manifestDigest };
}, 180_000);

afterAll(async () => {
  await secured?.stop();
  await bed?.stop();
});

describe('credentials the node already has (config.toml registry.configs)', () => {
  it('containerd itself pulled with them: refused without, pulled as the node user with them', async () => {
    expect(anonymousPull).toMatch(/401|unauthorized/i);
    expect((await fetch(`${secured.url}/v2/private/billing/manifests/3`, { method: 'HEAD' })).status).toBe(401);
    expect(readFileSync(secured.logFile, 'utf8')).toMatch(new RegExp(`auth.user.name="?${USER}`));
    const held = await bed.kubelet.imageStatus(`${secured.host}/private/billing:3`);
    expect(held?.repoDigests).toContain(`${secured.host}/private/billing@${moved.old}`);
    expect((await bed.kubelet.imageStatus(`${secured.host}/private/ledger:1.4`))?.repoDigests).toContain(`${secured.host}/private/ledger@${steady}`);
  });

  it('the moved tag is running-stale with both digests; the unchanged one is clean; no secret in any output', async () => {
    const json = await runCli(['scan', ...bed.scanArgs(), '-o', 'json', '--log-level', 'debug']);
    const report = JSON.parse(json.stdout) as Report;
    const mine = report.findings.filter((f) => f.image?.startsWith(secured.host));
    const stale = mine.find((f) => f.code === 'running-stale' && f.image === `${secured.host}/private/billing:3`);
    expect(stale, JSON.stringify(mine.map((f) => [f.code, f.image, f.evidence['detail']]))).toBeDefined();
    expect(stale!.evidence).toMatchObject({ runningDigest: moved.old, registryDigest: moved.now });
    const ledger = mine.filter((f) => f.image === `${secured.host}/private/ledger:1.4` && ['running-stale', 'running-superseded', 'check-failed'].includes(f.code));
    expect(ledger).toEqual([]);
    expect(mine.filter((f) => f.code === 'check-failed')).toEqual([]);

    const table = await runCli(['scan', ...bed.scanArgs(), '-o', 'table', '--log-level', 'debug']);
    const registries = await runCli(['registries', '--containerd-config', bed.containerd.configPath, '-o', 'json']);
    for (const out of [json.stdout, json.stderr, table.stdout, table.stderr, registries.stdout, registries.stderr]) expect(secretsIn(out)).toEqual([]);
    expect(table.stdout).toContain('running-stale');
  });

});
