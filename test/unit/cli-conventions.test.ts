/**
 * kubectl's conventions, through the built CLI: -o json|yaml|wide|table everywhere, colour
 * only on a terminal that wants it (NO_COLOR, TERM=dumb), lines wrapped at word boundaries
 * on a terminal and never inside a digest, KUBECONFIG lists merged as kubectl merges them,
 * --context/--cluster/--user, -n/-A filtering the workloads, usage errors as one line and
 * exit 2. A real terminal comes from script(1) (a pty).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { waitFor } from '../../testbed/proc.js';
import { FakeCri, fakeDigest } from '../fakes/fake-cri.js';
import { CLI, runCli, startAgent, type RunningAgent } from '../helpers/cli.js';

const R = 'registry.example:5000';
const old = { id: fakeDigest('id-old'), digest: fakeDigest('m-old') };
const cur = { id: fakeDigest('id-new'), digest: fakeDigest('m-new') };
let cri: FakeCri;
const kube = new FakeKubeApi();
let dir: string;
let agent: RunningAgent;

beforeAll(async () => {
  cri = await new FakeCri()
    .withImages(
      { id: old.id, repoTags: [], repoDigests: [`${R}/web@${old.digest}`], size: 10 },
      { id: cur.id, repoTags: [`${R}/web:1.0`], repoDigests: [`${R}/web@${cur.digest}`], size: 10 },
    )
    .withContainers(
      { id: 'c-shop', podSandboxId: 's1', name: 'web', imageId: old.id, state: 'CONTAINER_RUNNING', pod: { name: 'web-1', namespace: 'shop', uid: 'u1' } },
      { id: 'c-blog', podSandboxId: 's2', name: 'web', imageId: old.id, state: 'CONTAINER_RUNNING', pod: { name: 'web-1', namespace: 'blog', uid: 'u2' } },
    )
    .start();
  await kube.start();
  dir = mkdtempSync(join(tmpdir(), 'td-conv-'));
  for (const ns of ['shop', 'blog']) {
    kube.upsertPod({
      metadata: { name: 'web-1', namespace: ns, uid: ns === 'shop' ? 'u1' : 'u2', ownerReferences: [{ kind: 'StatefulSet', name: 'web', controller: true }] },
      spec: { nodeName: 'n1', containers: [{ name: 'web', image: `${R}/web:1.0`, imagePullPolicy: 'IfNotPresent' }] },
      status: { containerStatuses: [{ name: 'web', containerID: `containerd://c-${ns}` }] },
    });
  }
  // Two kubeconfig files as KUBECONFIG=a:b: the first names the current context, which the
  // second defines; the second's own current-context must lose (kubectl: first wins).
  writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: Config\ncurrent-context: bed\nclusters: []\nusers: []\ncontexts: []\n');
  writeFileSync(join(dir, 'b.yaml'), `apiVersion: v1\nkind: Config\ncurrent-context: nowhere\nclusters:\n- name: bed\n  cluster:\n    server: ${kube.url}\n    insecure-skip-tls-verify: true\n- name: dead\n  cluster:\n    server: http://127.0.0.1:9\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: bed\n  context:\n    cluster: bed\n    user: u\n- name: nowhere\n  context:\n    cluster: dead\n    user: u\n`);
  agent = await startAgent(['--runtime-endpoint', cri.endpoint, '--node-name', 'n1', '--registry-checks', 'off'], 19500 + Math.floor(Math.random() * 400), { KUBECONFIG: `${join(dir, 'a.yaml')}:${join(dir, 'b.yaml')}` });
  await waitFor('agent ready', async () => (await agent.get('/readyz')).status === 200, 15_000);
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await cri.stop();
  await kube.stop();
  rmSync(dir, { recursive: true, force: true });
});

const scanArgs = () => ['scan', '--runtime-endpoint', cri.endpoint, '--kubeconfig', `${join(dir, 'a.yaml')}:${join(dir, 'b.yaml')}`, '--node-name', 'n1', '--registry-checks', 'off'];

/** Runs the CLI on a pseudo-terminal of `columns` columns (script(1)); returns what the terminal showed. Asynchronous: the fakes answer from this process. */
function onTerminal(args: string[], env: Record<string, string>, columns = 200): Promise<string> {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `stty cols ${columns} 2>/dev/null; ${cmd}`, '/dev/null'], { env: { PATH: process.env['PATH'], HOME: process.env['HOME'], TERM: 'xterm', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out.replace(/\r/g, ''));
    });
  });
}

describe('output formats', () => {
  it('-o yaml is the JSON report as YAML, for scan, registries and cluster', async () => {
    const y = await runCli([...scanArgs(), '-o', 'yaml']);
    const j = await runCli([...scanArgs(), '-o', 'json']);
    const a = yaml.load(y.stdout) as Report;
    const b = JSON.parse(j.stdout) as Report;
    expect({ ...a, generatedAt: '' , sources: {} }).toEqual({ ...b, generatedAt: '', sources: {} });
    const empty = join(dir, 'empty-config.toml');
    writeFileSync(empty, 'version = 2\n');
    expect(yaml.load((await runCli(['registries', '--containerd-config', empty, '-o', 'yaml'])).stdout)).toMatchObject({ registries: expect.any(Array) });
    expect(yaml.load((await runCli(['cluster', '--endpoints', agent.url, '-o', 'yaml'])).stdout)).toMatchObject({ schemaVersion: 1 });
  });

  it('-o wide is a wider table everywhere: full digests, never JSON', async () => {
    const empty = join(dir, 'empty-config.toml');
    writeFileSync(empty, 'version = 2\n');
    for (const args of [scanArgs(), ['registries', '--containerd-config', empty], ['cluster', '--endpoints', agent.url]]) {
      const r = await runCli([...args, '-o', 'wide']);
      expect(r.stdout.trimStart().startsWith('{'), args[0]).toBe(false);
    }
    const wide = (await runCli([...scanArgs(), '-o', 'wide'])).stdout;
    expect(wide).toContain(old.digest);
    expect((await runCli([...scanArgs(), '-o', 'table'])).stdout).not.toContain(old.digest);
  });
});

describe('terminals', () => {
  it('colour on a terminal; none with NO_COLOR or TERM=dumb; none when piped', async () => {
    expect(await onTerminal([...scanArgs()], {})).toContain('\x1b[');
    expect(await onTerminal([...scanArgs()], { NO_COLOR: '1' })).not.toContain('\x1b[');
    expect(await onTerminal([...scanArgs()], { TERM: 'dumb' })).not.toContain('\x1b[');
    expect((await runCli([...scanArgs(), '-o', 'table'])).stdout).not.toContain('\x1b[');
  });

  it('wraps at word boundaries to the terminal width and never splits a digest', async () => {
    const out = await onTerminal([...scanArgs(), '-o', 'wide'], { NO_COLOR: '1', COLUMNS: '72' }, 72);
    const lines = out.split('\n');
    expect(lines.some((l) => l.length > 72 && l.trim().includes(' ')), 'a line longer than the width with a space to break at').toBe(false);
    const digests = [...out.matchAll(/sha256:([0-9a-f]*)/g)].map((m) => m[1]!.length);
    // Whole digests only: the short form in messages (12) and the full one in wide evidence (64).
    expect(digests).toContain(64);
    for (const n of digests) expect([12, 64]).toContain(n);
    expect(lines.some((l) => /^\s*[0-9a-f]{6,}\b/.test(l)), 'a line starting with the rest of a digest').toBe(false);
  });
});

describe('kubeconfig and namespaces as kubectl has them', () => {
  it('KUBECONFIG=a:b is merged first-wins: the current context of a, defined in b', async () => {
    const r = await runCli(['scan', '--runtime-endpoint', cri.endpoint, '--node-name', 'n1', '--registry-checks', 'off', '-o', 'json'], { KUBECONFIG: `${join(dir, 'a.yaml')}:${join(dir, 'b.yaml')}` });
    expect((JSON.parse(r.stdout) as Report).sources.pods.ok, r.stderr).toBe(true);
  });

  it('--context, --cluster and --user choose from the kubeconfig; an unknown one is a one-line usage error', async () => {
    const viaDead = await runCli([...scanArgs(), '--context', 'nowhere', '-o', 'json']);
    expect((JSON.parse(viaDead.stdout) as Report).sources.pods.ok).toBe(false);
    const back = await runCli([...scanArgs(), '--context', 'nowhere', '--cluster', 'bed', '--user', 'u', '-o', 'json']);
    expect((JSON.parse(back.stdout) as Report).sources.pods.ok).toBe(true);
    const missing = await runCli(['cluster', '--kubeconfig', join(dir, 'b.yaml'), '--context', 'prod']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('context "prod" not found');
  });

  it('-n filters the workloads reported; -A (the default) shows all; both at once is a usage error', async () => {
    const all = JSON.parse((await runCli(['cluster', '--endpoints', agent.url, '-o', 'json'])).stdout) as { groups: { workload: string }[] };
    const namespaces = (r: { groups: { workload: string; findings: { containers: { namespace: string }[] }[] }[] }) => new Set(r.groups.flatMap((g) => g.findings.flatMap((f) => f.containers.map((c) => c.namespace))));
    expect(namespaces(all as never)).toEqual(new Set(['shop', 'blog']));
    const shop = JSON.parse((await runCli(['cluster', '--endpoints', agent.url, '-n', 'shop', '-o', 'json'])).stdout) as { groups: { workload: string; findings: { containers: { namespace: string }[] }[] }[] };
    expect(shop.groups.length).toBeGreaterThan(0);
    expect(namespaces(shop)).toEqual(new Set(['shop']));
    for (const g of shop.groups) for (const w of g.workload.split(', ')) expect(w.startsWith('shop/')).toBe(true);
    expect(JSON.parse((await runCli(['cluster', '--endpoints', agent.url, '-A', '-o', 'json'])).stdout)).toMatchObject({ groups: all.groups });
    const both = await runCli(['cluster', '--endpoints', agent.url, '-n', 'shop', '-A']);
    expect(both.code).toBe(2);
    expect(both.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('usage errors', () => {
  it('agent --listen nonsense: exit 2, one line, no stack trace', async () => {
    const r = await runCli(['agent', '--listen', 'nonsense', '--registry-checks', 'off'], {}, 10_000);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('--listen "nonsense" is not host:port')]);
  });

  it('cluster --endpoints host:port is used as http://host:port; a malformed value is one line, exit 2', async () => {
    const { FakeCri } = await import('../fakes/fake-cri.js');
    const { startAgent } = await import('../helpers/cli.js');
    const { freePort } = await import('../../testbed/proc.js');
    const cri = await new FakeCri().start();
    const port = await freePort();
    const agent = await startAgent(['--runtime-endpoint', cri.endpoint, '--node-name', 'n1', '--registry-checks', 'off', '--api-auth', 'none'], port);
    try {
      const { waitFor } = await import('../../testbed/proc.js');
      await waitFor('agent ready', async () => (await agent.get('/readyz')).status === 200, 15_000);
      const ok = await runCli(['cluster', '--endpoints', `127.0.0.1:${port}`, '-o', 'json'], {}, 20_000);
      expect(ok.stderr).not.toMatch(/TypeError|at .*\.js:/);
      expect((JSON.parse(ok.stdout) as { nodes: { node: string; status: string }[] }).nodes).toMatchObject([{ node: 'n1', status: 'ok' }]);
      for (const bad of ['http://[oops', 'ftp://x:1', 'http://u:p@h:1']) {
        const r = await runCli(['cluster', '--endpoints', bad], {}, 10_000);
        expect(r.code, bad).toBe(2);
        expect(r.stderr.trim().split('\n'), bad).toEqual([expect.stringContaining('--endpoints:')]);
      }
    } finally {
      await agent.stop();
      await cri.stop();
    }
  });

  it('SIGHUP does not end the agent (said at warning); a scan that cannot read the runtime is logged at warning with the reason', async () => {
    const { startAgent } = await import('../helpers/cli.js');
    const { freePort } = await import('../../testbed/proc.js');
    const agent = await startAgent(['--runtime-endpoint', 'unix:///nonexistent/containerd.sock', '--node-name', 'n1', '--registry-checks', 'off', '--interval', '1s'], await freePort());
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      process.kill(agent.pid, 'SIGHUP');
      await new Promise((r) => setTimeout(r, 500));
      expect(agent.exited()).toBe(false);
      expect((await agent.get('/healthz')).status).toBe(200);
      const lines = agent.output().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string; sources?: string[] });
      expect(lines.find((l) => l.msg.startsWith('SIGHUP'))?.level).toBe('warn');
      const failed = lines.find((l) => l.msg.startsWith('scan failed'));
      expect(failed?.level).toBe('warn');
      expect(failed?.sources?.join(' ')).toMatch(/runtime: socket-missing/);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });

  it('--version for tagdrift and kubectl tagdrift', async () => {
    const r = await runCli(['--version']);
    expect(r.stdout).toMatch(/^tagdrift \d+\.\d+\.\d+ \(node v\d+/);
    expect((await runCli(['cluster', '--version'])).stdout).toBe(r.stdout);
  });
});
