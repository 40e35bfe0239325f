/**
 * Credentials written where they do not belong never leave the process: userinfo in a
 * hosts.toml host key that is not a URL, or whose table is invalid, or in `server`; a
 * kubeconfig whose YAML breaks next to a token. Checked in every output: JSON report,
 * table and stderr, through the built CLI on real files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeCri } from '../fakes/fake-cri.js';
import { runCli } from '../helpers/cli.js';
import { writeNodeTree } from '../helpers/node-tree.js';

const CANARY = 'canary-SECRET-9d2e';
const base = mkdtempSync(join(tmpdir(), 'tagdrift-secrets-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const node = (name: string, files: Record<string, string>): string => writeNodeTree(base, name, files);

const CFG = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n';

describe('userinfo in hosts.toml never reaches an output', () => {
  const cases: Record<string, string> = {
    'a host key that is not a URL': `[host."https://robot:${CANARY}@bad host name"]\n  capabilities = ["pull", "resolve"]\n`,
    'a host whose table is invalid': `[host."https://robot:${CANARY}@mirror.example"]\n  capabilities = 5\n`,
    'a host whose value is not a table': `host."https://robot:${CANARY}@mirror.example" = 1\n`,
    'a password holding @': `[host."https://robot:p@${CANARY}@mirror.example"]\n  capabilities = ["pull", "resolve"]\n`,
    'a server that is not a URL': `server = "https://robot:${CANARY}@bad host"\n`,
  };
  for (const [name, hosts] of Object.entries(cases)) {
    it(name, async () => {
      const root = node(name.replace(/\W+/g, '-'), { '/etc/containerd/config.toml': CFG, '/etc/containerd/certs.d/docker.io/hosts.toml': hosts });
      for (const output of ['json', 'table']) {
        const r = await runCli(['registries', '--host-root', root, '--runtime-version', '1.7.20', '-o', output], {}, 20_000);
        expect(r.stdout.length, r.stderr).toBeGreaterThan(0);
        expect(r.stdout + r.stderr).not.toContain(CANARY);
      }
    });
  }
});

describe('a kubeconfig never reaches an output', () => {
  it('a YAML error next to a token: the reason and position, not the line', async () => {
    const cri = await new FakeCri().start();
    try {
      const kubeconfig = join(base, 'kubeconfig');
      writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: ${CANARY}\n    bad: [unclosed\nclusters: []\n`);
      const r = await runCli(['scan', '--runtime-endpoint', cri.endpoint, '--kubeconfig', kubeconfig, '--node-name', 'n1', '--registry-checks', 'off', '-o', 'json'], {}, 20_000);
      expect(r.stdout + r.stderr).not.toContain(CANARY);
      const report = JSON.parse(r.stdout) as { sources: { pods: { ok: boolean; error?: { message: string } } } };
      expect(report.sources.pods.ok).toBe(false);
      expect(report.sources.pods.error?.message).toMatch(/invalid YAML: .* at line \d+, column \d+/);
      const c = await runCli(['cluster', '--kubeconfig', kubeconfig], {}, 20_000);
      expect(c.stdout + c.stderr).not.toContain(CANARY);
    } finally {
      await cri.stop();
    }
  });
});
