/** The built CLI against the fake CRI server and the fake Kubernetes API: exit codes and the JSON contract. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { FakeCri, fakeDigest } from '../fakes/fake-cri.js';
import { runCli } from '../helpers/cli.js';

const R = 'registry.example:5000';
const old = { id: fakeDigest('id-old'), digest: fakeDigest('m-old') };
const cur = { id: fakeDigest('id-new'), digest: fakeDigest('m-new') };
const unrelated = { id: fakeDigest('id-unrelated'), digest: fakeDigest('m-unrelated') };
let cri: FakeCri;
/** An image author's label: sets the terminal title, clears the screen, forges a line. */
const EVIL = 'abc\x1b]0;pwned\x07\x1b[2J\u009b31m\nFORGED critical line';
const kube = new FakeKubeApi();
let dir: string;

beforeAll(async () => {
  cri = await new FakeCri()
    .withImages(
      { id: old.id, repoTags: [], repoDigests: [`${R}/web@${old.digest}`], size: 10, labels: { 'org.opencontainers.image.version': '1.0.0' }, env: ['TOKEN=canary-env-Qq7'] },
      { id: cur.id, repoTags: [`${R}/web:1.0`], repoDigests: [`${R}/web@${cur.digest}`], size: 10, labels: { 'org.opencontainers.image.version': '1.0.1', 'org.opencontainers.image.revision': EVIL } },
      { id: unrelated.id, repoTags: [`${R}/tools:2.0`], repoDigests: [`${R}/tools@${unrelated.digest}`], size: 10, env: ['KEY=canary-env-Qq7'] },
    )
    .withContainers({ id: 'c-web', podSandboxId: 's', name: 'web', imageId: old.id, state: 'CONTAINER_RUNNING', pod: { name: 'web-1', namespace: 'shop', uid: 'u1' } })
    .start();
  await kube.start();
  dir = mkdtempSync(join(tmpdir(), 'td-cli-'));
  kube.writeKubeconfig(join(dir, 'kubeconfig'));
  kube.upsertPod({
    metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', ownerReferences: [{ kind: 'StatefulSet', name: 'web', controller: true }] },
    spec: { nodeName: 'n1', containers: [{ name: 'web', image: `${R}/web:1.0`, imagePullPolicy: 'IfNotPresent' }] },
    status: { containerStatuses: [{ name: 'web', containerID: 'containerd://c-web' }] },
  });
});

afterAll(async () => {
  await cri.stop();
  await kube.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Registries are not part of these tests (registry-client and registry-checks cover them).
const args = () => ['scan', '--runtime-endpoint', cri.endpoint, '--kubeconfig', join(dir, 'kubeconfig'), '--node-name', 'n1', '--registry-checks', 'off'];

describe('tagdrift scan (fake runtime)', () => {
  it('prints the versioned JSON report and exits 0 when the scan ran', async () => {
    const res = await runCli([...args(), '-o', 'json']);
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as Report;
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['schemaVersion', 'node', 'generatedAt', 'runtime', 'images', 'containers', 'findings']),
    );
    expect(report.runtime).toEqual({ name: 'containerd', version: 'v0.0.0-fake', apiVersion: 'v1' });
    const f = report.findings.find((x) => x.code === 'running-superseded');
    expect(f?.evidence).toMatchObject({ runningDigest: old.digest, nodeDigest: cur.digest, runningBuild: { version: '1.0.0' } });
    expect(res.stdout + res.stderr).not.toContain('canary-env-Qq7');
  });

  it('asks ImageStatus(verbose) only about the images a finding is about', async () => {
    cri.imageStatusRequests.length = 0;
    const res = await runCli([...args(), '-o', 'json']);
    expect(res.code).toBe(0);
    expect([...cri.imageStatusRequests].sort()).toEqual([`${old.id}(verbose)`, `${cur.id}(verbose)`].sort());
  });

  it('--fail-on warning exits 1; --fail-on critical exits 0', async () => {
    expect((await runCli([...args(), '-o', 'json', '--fail-on', 'warning'])).code).toBe(1);
    expect((await runCli([...args(), '-o', 'json', '--fail-on', 'critical'])).code).toBe(0);
  });

  it('renders a table for people', async () => {
    const res = await runCli([...args(), '-o', 'table']);
    expect(res.stdout).toContain('WARNING  running-superseded');
    expect(res.stdout).toContain('kubectl -n shop rollout restart statefulset/web');
    expect(res.stdout).toMatch(/0 critical, 1 warning, 0 info/);
    // The image author's label is shown, without its control characters or its forged line.
    expect(res.stdout).toContain('abc');
    expect(res.stdout).not.toMatch(/[\x07\x1b\x9b]/);
    expect(res.stdout.split('\n').some((l) => l.startsWith('FORGED'))).toBe(false);
  });

  it('bad usage exits 2 and names the problem', async () => {
    const res = await runCli(['scan', '--output', 'xml']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--output: "xml" is not one of table, wide, json, yaml, auto');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an unreachable runtime exits 3 with a runtime-unavailable report', async () => {
    const res = await runCli(['scan', '--runtime-endpoint', `unix://${dir}/nope.sock`, '-o', 'json']);
    expect(res.code).toBe(3);
    expect((JSON.parse(res.stdout) as Report).findings[0]?.code).toBe('runtime-unavailable');
  });

  it('a node name that matches no pod (the host name, not the Kubernetes node name): critical node-name-mismatch naming the right node, exit 3, also with --fail-on warning', async () => {
    const wrong = ['scan', '--runtime-endpoint', cri.endpoint, '--kubeconfig', join(dir, 'kubeconfig'), '--node-name', 'my-laptop', '--registry-checks', 'off'];
    const res = await runCli([...wrong, '-o', 'json', '--fail-on', 'warning']);
    expect(res.code).toBe(3);
    const f = (JSON.parse(res.stdout) as Report).findings.find((x) => x.code === 'node-name-mismatch');
    expect(f).toMatchObject({ severity: 'critical', evidence: { nodeName: 'my-laptop', apiNodes: ['n1'] } });
    expect(f!.remediation).toContain('--node-name n1');
    const table = await runCli([...wrong, '-o', 'table']);
    expect(table.stdout).not.toContain('No findings');
    expect(table.stdout).toContain('CRITICAL node-name-mismatch');
  });

  it('an explicit --kubeconfig or --containerd-config that does not exist is a usage error: one line, exit 2', async () => {
    const a = await runCli(['scan', '--runtime-endpoint', cri.endpoint, '--kubeconfig', '/nope/config', '--node-name', 'n1', '--registry-checks', 'off']);
    expect(a.code).toBe(2);
    expect(a.stderr.trim().split('\n')).toEqual([expect.stringContaining('--kubeconfig /nope/config: no such file')]);
    const b = await runCli(['registries', '--containerd-config', '/nope.toml', '--runtime-version', '1.7.20']);
    expect(b.code).toBe(2);
    expect(b.stderr.trim().split('\n')).toEqual([expect.stringContaining('--containerd-config /nope.toml: no such file')]);
  });

  it('an API that is configured but cannot be asked is not a clean scan: exit 3', async () => {
    const cfg = join(dir, 'dead-kubeconfig');
    writeFileSync(cfg, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n');
    const res = await runCli(['scan', '--runtime-endpoint', cri.endpoint, '--kubeconfig', cfg, '--node-name', 'n1', '--registry-checks', 'off', '-o', 'json']);
    expect(res.code).toBe(3);
    expect((JSON.parse(res.stdout) as Report).findings.some((x) => x.code === 'pod-intent-unavailable')).toBe(true);
  });

  it('a pod silencing a code (annotation tagdrift.dev/silence): the finding stays in the report, marked, and counts for nothing', async () => {
    const pod = {
      metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', ownerReferences: [{ kind: 'StatefulSet', name: 'web', controller: true }], annotations: { 'tagdrift.dev/silence': 'running-superseded, not-a-code' } },
      spec: { nodeName: 'n1', containers: [{ name: 'web', image: `${R}/web:1.0`, imagePullPolicy: 'IfNotPresent' }] },
      status: { containerStatuses: [{ name: 'web', containerID: 'containerd://c-web' }] },
    };
    kube.upsertPod(pod);
    try {
      const res = await runCli([...args(), '-o', 'json', '--fail-on', 'warning']);
      const report = JSON.parse(res.stdout) as Report;
      const f = report.findings.find((x) => x.code === 'running-superseded');
      expect(f?.silenced).toEqual({ by: 'annotation tagdrift.dev/silence on pod shop/web-1' });
      expect(report.summary.warning).toBe(0);
      expect(res.code).toBe(0);
      const { Metrics } = await import('../../src/metrics/metrics.js');
      const m = new Metrics({ version: 't' }, { processMetrics: false });
      m.updateFromScan(report, 1, true);
      const text = await m.render();
      expect(text).toMatch(/tagdrift_findings\{code="running-superseded",severity="warning"\} 0/);
      expect(text).not.toMatch(/tagdrift_workload_findings\{[^}]*code="running-superseded"/);
      const table = await runCli([...args(), '-o', 'table']);
      expect(table.stdout).toContain('silenced by annotation tagdrift.dev/silence on pod shop/web-1');
    } finally {
      const { annotations: _a, ...metadata } = pod.metadata;
      kube.upsertPod({ ...pod, metadata });
    }
  });

  it('help lists every scan option with its env var', async () => {
    const res = await runCli(['scan', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('--runtime-endpoint');
    expect(res.stdout).toContain('TAGDRIFT_RUNTIME_ENDPOINT');
  });
});
