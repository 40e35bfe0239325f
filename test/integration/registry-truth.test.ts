/**
 * The seed incidents on the real test bed, checked against real registries:
 * a tag re-pushed upstream while a container runs and the node never re-pulls,
 * a stale cached tag, short names through certs.d/docker.io with a loopback server,
 * request accounting, a healthy control node, and upstream unreachable.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { runCli } from '../helpers/cli.js';

let bed: TestBed;
let control: TestBed;
const owner = (name: string) => ({ kind: 'ReplicaSet', name: `${name}-6b7c8d9f5`, templateHash: '6b7c8d9f5' });

async function scan(b: TestBed, extra: string[] = []): Promise<Report> {
  const res = await runCli(['scan', ...b.scanArgs(), '-o', 'json', ...extra]);
  expect(res.stderr).not.toMatch(/Error|at .*\.js/);
  return JSON.parse(res.stdout) as Report;
}
const byCode = (r: Report, code: string): Finding[] => r.findings.filter((f) => f.code === code);

let v1: Awaited<ReturnType<TestBed['publish']>>;
let v2: Awaited<ReturnType<TestBed['publish']>>;
let cli1: Awaited<ReturnType<TestBed['publish']>>;
let cli2: Awaited<ReturnType<TestBed['publish']>>;
let nginxOld: Awaited<ReturnType<TestBed['publish']>>;
let nginxNew: Awaited<ReturnType<TestBed['publish']>>;

beforeAll(async () => {
  bed = await TestBed.start({ nodeName: 'node-stale' });
  // Short names: docker.io is served by the loopback registry through certs.d/docker.io/hosts.toml.
  bed.containerd.writeRoutes([{ host: 'docker.io', serverUrl: bed.upstream.url }]);

  v1 = await bed.publish('shop/web', '1.0', { version: '1.0.0', revision: 'aaa1111' });
  await bed.kubelet.runPod({ namespace: 'shop', name: 'web-6b7c8d9f5-a1', owner: owner('web'), containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'IfNotPresent' }] });
  cli1 = await bed.publish('tools/cli', '2', { version: '2.0.0' });
  await bed.kubelet.pull(cli1.ref);
  nginxOld = await bed.publish('library/nginx', '1.25', { version: '1.25.0' });
  await bed.kubelet.runPod({ namespace: 'edge', name: 'nginx-0', owner: { kind: 'StatefulSet', name: 'nginx' }, containers: [{ name: 'nginx', image: 'nginx:1.25', imagePullPolicy: 'IfNotPresent' }] });
  // Five pods sharing two fresh tags, for request accounting.
  const a = await bed.publish('acct/a', '1', { version: 'a1' });
  const b = await bed.publish('acct/b', '1', { version: 'b1' });
  for (let i = 0; i < 5; i++) {
    await bed.kubelet.runPod({ namespace: 'acct', name: `p-${i}`, containers: [{ name: 'c', image: (i % 2 === 0 ? a : b).ref, imagePullPolicy: 'IfNotPresent' }] });
  }
  // CI re-pushes under the same tags; the node never re-pulls.
  v2 = await bed.publish('shop/web', '1.0', { version: '1.0.1', revision: 'bbb2222' });
  cli2 = await bed.publish('tools/cli', '2', { version: '2.0.1' });
  nginxNew = await bed.publish('library/nginx', '1.25', { version: '1.25.1' });

  // A healthy control node on the same registry: it pulls the current tags only.
  control = await TestBed.start({ nodeName: 'node-control', shared: { upstream: bed.upstream, sandboxImage: bed.sandboxImage } });
  await control.kubelet.runPod({ namespace: 'shop', name: 'web-6b7c8d9f5-c1', owner: owner('web'), containers: [{ name: 'web', image: v2.ref, imagePullPolicy: 'Always' }] });
  await control.kubelet.pull(cli2.ref);
}, 240_000);

afterAll(async () => {
  await control?.stop();
  await bed?.stop();
});

describe('registry truth on a real node', () => {
  let report: Report;
  let logBefore: number;
  beforeAll(async () => {
    logBefore = readFileSync(bed.upstream.logFile, 'utf8').length;
    report = await scan(bed);
  });

  it('a tag re-pushed upstream while the container runs → running-stale with both digests, builds and the fix', () => {
    const f = byCode(report, 'running-stale').find((x) => x.image === `${bed.upstream.host}/shop/web:1.0`);
    expect(f, JSON.stringify(report.findings.map((x) => [x.code, x.image]))).toBeDefined();
    expect(f!.severity).toBe('critical');
    expect(f!.evidence).toMatchObject({
      runningDigest: v1.manifestDigest,
      registryDigest: v2.manifestDigest,
      endpoint: bed.upstream.url,
      runningBuild: { version: '1.0.0', revision: 'aaa1111' },
      registryBuild: { version: '1.0.1', revision: 'bbb2222' },
    });
    expect(f!.remediation).toContain(`kubectl -n shop set image deployment/web web=${bed.upstream.host}/shop/web@${v2.manifestDigest}`);
    expect(byCode(report, 'running-superseded')).toEqual([]);
  });

  it('a cached tag nobody runs whose upstream moved → cache-stale', () => {
    const f = byCode(report, 'cache-stale').find((x) => x.image === `${bed.upstream.host}/tools/cli:2`);
    expect(f?.evidence).toMatchObject({ cachedDigest: cli1.manifestDigest, registryDigest: cli2.manifestDigest });
  });

  it('short names through certs.d/docker.io/hosts.toml with a loopback server: nginx:1.25 is checked there', () => {
    const f = byCode(report, 'running-stale').find((x) => x.image === 'docker.io/library/nginx:1.25');
    expect(f?.evidence).toMatchObject({ runningDigest: nginxOld.manifestDigest, registryDigest: nginxNew.manifestDigest, endpoint: bed.upstream.url });
    const answer = report.registryTruth?.find((a) => a.registry === 'docker.io' && a.repository === 'library/nginx');
    expect(answer).toMatchObject({ tag: '1.25', role: 'upstream', endpoint: bed.upstream.url, result: { ok: true, digest: nginxNew.manifestDigest } });
  });

  it('request accounting: 5 containers on 2 unique tags → exactly 2 HEADs (with containerd’s ns rule) and no manifest GET', () => {
    const log = readFileSync(bed.upstream.logFile, 'utf8').slice(logBefore).split('\n').filter((l) => l.includes('"tagdrift"'));
    const acct = log.filter((l) => l.includes('/v2/acct/'));
    expect(acct.filter((l) => l.includes('"HEAD /v2/acct/'))).toHaveLength(2);
    expect(acct.filter((l) => l.includes('"GET /v2/acct/'))).toHaveLength(0);
    // The short name was asked with ns=docker.io, as containerd asks a host other than the reference's.
    expect(log.some((l) => l.includes('"HEAD /v2/library/nginx/manifests/1.25?ns=docker.io '))).toBe(true);
    // Fresh tags are asked with HEAD only; GETs happen only to explain a stale tag.
    for (const l of log.filter((x) => x.includes('"GET '))) expect(l).toMatch(/\/v2\/(shop\/web|tools\/cli|library\/nginx)\//);
  });

  it('fresh tags produce no stale finding and no check-failed', () => {
    const codes = report.findings.filter((f) => f.image?.includes('/acct/')).map((f) => f.code);
    expect(codes.filter((c) => ['running-stale', 'cache-stale', 'running-superseded', 'check-failed'].includes(c))).toEqual([]);
  });

  it('a healthy control node → no stale finding at all', async () => {
    const r = await scan(control);
    expect(r.findings.filter((f) => ['running-stale', 'cache-stale', 'mirror-stale', 'running-superseded', 'check-failed'].includes(f.code))).toEqual([]);
    expect(r.registryTruth?.find((a) => a.repository === 'shop/web')).toMatchObject({ result: { ok: true, digest: v2.manifestDigest } });
  });

  it('upstream unreachable → check-failed for every tag, nothing reported fresh or stale', async () => {
    await bed.upstream.stop();
    const r = await scan(bed);
    for (const code of ['running-stale', 'cache-stale', 'mirror-stale']) expect(byCode(r, code)).toEqual([]);
    const failed = byCode(r, 'check-failed');
    const images = new Set(failed.map((f) => f.image));
    for (const tag of [`${bed.upstream.host}/shop/web:1.0`, `${bed.upstream.host}/tools/cli:2`, 'docker.io/library/nginx:1.25']) expect(images).toContain(tag);
    expect(failed.every((f) => f.evidence['reason'] === 'unreachable')).toBe(true);
    expect(r.registryTruth?.every((a) => !a.result.ok)).toBe(true);
  });
});
