/**
 * Inputs within tagdrift's own caps must not abort the process under the heap the image
 * gives it (the Dockerfile's NODE_OPTIONS): a megabyte of nested arrays in config.toml,
 * drop-ins adding up past the config budget, more drop-ins than tagdrift reads. Each is
 * run through the built CLI on real files and must end in a report that says what was not
 * read, at warning severity (tagdrift's limits are not containerd errors).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE_CONFIG } from '../../scripts/build-image.js';
import type { Report } from '../../src/domain/report.js';
import { FakeKubeApi } from '../../testbed/kube-api.js';
import { FakeCri } from '../fakes/fake-cri.js';
import { runCli } from '../helpers/cli.js';
import { writeNodeTree } from '../helpers/node-tree.js';

const base = mkdtempSync(join(tmpdir(), 'tagdrift-heap-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const imageEnv = { NODE_OPTIONS: IMAGE_CONFIG.env['NODE_OPTIONS']! };
expect(imageEnv.NODE_OPTIONS).toMatch(/--max-old-space-size=\d+/);

const node = (name: string, files: Record<string, string>): string => writeNodeTree(base, name, files);

async function registries(root: string) {
  const r = await runCli(['registries', '--host-root', root, '--runtime-version', '1.7.20', '-o', 'json'], imageEnv, 60_000);
  expect(r.stderr, r.stderr).not.toMatch(/heap limit|Allocation failed|RangeError/);
  expect([0, 1], r.stderr).toContain(r.code);
  return JSON.parse(r.stdout) as { findings: { code: string; severity: string; message: string }[] };
}

const nested = (depth: number) => `x = ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
const CRI = '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n';

describe("config files at tagdrift's limits, under the image's heap", () => {
  it('a 1 MB config.toml of nested arrays: not parsed, said at warning severity', async () => {
    const out = await registries(node('nested', { '/etc/containerd/config.toml': `version = 2\n${nested(500_000)}` }));
    const f = out.findings.find((x) => x.code === 'check-failed');
    expect(f?.severity).toBe('warning');
    expect(f?.message).toMatch(/nested deeper than 32/);
    expect(out.findings.filter((x) => x.code === 'config-error')).toEqual([]);
  });

  it('eight 200 KB nested drop-ins: the config still reads, the drop-ins are named', async () => {
    const files: Record<string, string> = { '/etc/containerd/config.toml': `version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n${CRI}` };
    for (let i = 0; i < 8; i++) files[`/etc/containerd/conf.d/${i}.toml`] = nested(100_000);
    const out = await registries(node('dropins', files));
    const f = out.findings.find((x) => x.code === 'check-failed')!;
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(/8 config files were not read/);
  });

  it('more than 64 drop-ins: tagdrift stops reading and says it is its own limit, not a containerd error', async () => {
    const files: Record<string, string> = { '/etc/containerd/config.toml': `version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n${CRI}` };
    for (let i = 0; i < 70; i++) files[`/etc/containerd/conf.d/${String(i).padStart(2, '0')}.toml`] = `# drop-in ${i}\n`;
    const out = await registries(node('many', files));
    expect(out.findings.filter((x) => x.code === 'config-error')).toEqual([]);
    const f = out.findings.find((x) => x.code === 'check-failed')!;
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(/more than 64 config files imported.*tagdrift's own limit; containerd has none/);
  });

  it('config files past 2 MiB in all: the rest are not read, said at warning severity', async () => {
    const files: Record<string, string> = { '/etc/containerd/config.toml': `version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n${CRI}` };
    const wide = `x = [${Array.from({ length: 120_000 }, () => '1').join(',')}]\n`;
    for (let i = 0; i < 12; i++) files[`/etc/containerd/conf.d/${i}.toml`] = `# ${i}\n${wide}`;
    const out = await registries(node('budget', files));
    const f = out.findings.find((x) => x.code === 'check-failed')!;
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(/add up to more than 2097152 bytes/);
  });
});

describe("a single file over tagdrift's 1 MiB limit", () => {
  const big = `# ${'x'.repeat(1_100_000)}\n`;
  it('a config.toml: not read, a warning naming it; no config-error (containerd reads it)', async () => {
    const out = await registries(node('big-config', { '/etc/containerd/config.toml': `version = 2\n${CRI}${big}` }));
    expect(out.findings.filter((x) => x.code === 'config-error')).toEqual([]);
    const f = out.findings.find((x) => x.code === 'check-failed')!;
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(/1 config file was not read by tagdrift \(its own limits, not containerd's\): \/etc\/containerd\/config.toml: larger than 1048576 bytes/);
  });

  it('a hosts.toml: not read, a warning naming it; no mirror-config-ignored (containerd reads it)', async () => {
    const out = await registries(node('big-hosts', {
      '/etc/containerd/config.toml': `version = 2\n${CRI}`,
      '/etc/containerd/certs.d/docker.io/hosts.toml': `server = "https://registry-1.docker.io"\n[host."https://mirror.example"]\n  capabilities = ["pull", "resolve"]\n${big}`,
    }));
    expect(out.findings.filter((x) => x.code === 'mirror-config-ignored' || x.code === 'config-error')).toEqual([]);
    const f = out.findings.find((x) => x.code === 'check-failed')!;
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(/\/etc\/containerd\/certs.d\/docker.io\/hosts.toml: larger than 1048576 bytes: not read \(tagdrift's own limit\)/);
  });
});

describe("hosts.toml directories past tagdrift's limit", () => {
  it('520 registry directories: 512 read, the rest named in a warning', async () => {
    const files: Record<string, string> = { '/etc/containerd/config.toml': `version = 2\n${CRI}` };
    for (let i = 0; i < 520; i++) files[`/etc/containerd/certs.d/r${String(i).padStart(3, '0')}.example/hosts.toml`] = `server = "https://r${i}.example"\n[host."https://mirror.example"]\n  capabilities = ["pull", "resolve"]\n`;
    const out = await registries(node('many-hosts', files));
    const f = out.findings.find((x) => x.code === 'check-failed')!;
    expect(f.severity).toBe('warning');
    expect(f.message).toMatch(/^8 hosts.toml directories were not read: tagdrift reads at most 512 per scan \(its own cap; containerd has none\)/);
  });
});

describe("the node's pod list, under the image's heap", () => {
  const scan = async (kubeconfig: string, cri: FakeCri, exit = 0) => {
    const r = await runCli(['scan', '--runtime-endpoint', cri.endpoint, '--kubeconfig', kubeconfig, '--node-name', 'n1', '--registry-checks', 'off', '--kube-timeout', '60s', '-o', 'json'], imageEnv, 120_000);
    expect(r.stderr, r.stderr).not.toMatch(/heap limit|Allocation failed/);
    expect(r.code, r.stderr).toBe(exit);
    return JSON.parse(r.stdout) as Report;
  };

  it('60 MB of pods (3,000 of 20 KB) is read a page at a time', async () => {
    const kube = new FakeKubeApi();
    const cri = await new FakeCri().start();
    await kube.start();
    try {
      const pad = 'x'.repeat(20_000);
      for (let i = 0; i < 3_000; i++) {
        kube.upsertPod({ metadata: { name: `p-${i}`, namespace: 'big', uid: `u-${i}`, labels: { pad } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: `r.example/app:${i}`, imagePullPolicy: 'IfNotPresent' }] }, status: {} });
      }
      const kubeconfig = join(base, 'kubeconfig-big');
      kube.writeKubeconfig(kubeconfig);
      const report = await scan(kubeconfig, cri);
      expect(report.sources.pods.ok).toBe(true);
      expect(kube.requests.filter((r) => r.startsWith('GET /api/v1/pods')).length).toBe(30);
    } finally {
      await cri.stop();
      await kube.stop();
    }
  }, 180_000);

  it('an API server that ignores `limit` and answers 60 MB: a classified pod-intent failure, the scan goes on', async () => {
    const cri = await new FakeCri().start();
    const chunk = Buffer.from(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n","uid":"u","labels":{"pad":"${'y'.repeat(20_000)}"}},"spec":{"nodeName":"n1","containers":[]}},`);
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"apiVersion":"v1","kind":"PodList","metadata":{},"items":[');
      let sent = 0;
      const more = (): void => {
        while (sent < 3_000) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end('{}]}');
      };
      req.socket.on('close', () => (sent = 3_000));
      more();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const api = new FakeKubeApi();
      api.port = (server.address() as { port: number }).port;
      const kubeconfig = join(base, 'kubeconfig-hostile');
      api.writeKubeconfig(kubeconfig);
      // The configured API could not say what the pods asked for: not a clean scan.
      const report = await scan(kubeconfig, cri, 3);
      expect(report.sources.pods.ok).toBe(false);
      expect(JSON.stringify(report.sources.pods.error)).toMatch(/larger than|too large|bytes/i);
      expect(report.findings.map((f) => f.code)).toContain('pod-intent-unavailable');
    } finally {
      server.closeAllConnections();
      server.close();
      await cri.stop();
    }
  }, 180_000);
});
