/**
 * The node's files through --host-root, on real files: nothing resolves outside the root
 * (`..`, absolute and relative symlinks, loops), and no file read can block the process
 * (a FIFO where config.toml belongs is refused at once, by the CLI too).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHostFiles, resolveInRoot } from '../../src/adapters/node-files/host-files.js';
import { runCli } from '../helpers/cli.js';

const base = mkdtempSync(join(tmpdir(), 'tagdrift-hostroot-'));
const root = join(base, 'host');
const SECRET = 'outside-the-root-SECRET';
afterAll(() => rmSync(base, { recursive: true, force: true }));

function put(path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}
mkdirSync(root, { recursive: true });
writeFileSync(join(base, 'outside.pem'), SECRET);
put('/etc/containerd/certs.d/docker.io/hosts.toml', 'server = "https://registry-1.docker.io"\n');
put('/etc/ssl/corp/ca.pem', 'inside-ca');
const files = createHostFiles(root);

describe('--host-root confines every path', () => {
  it('`..` stops at the root (ca = "/../../outside.pem")', () => {
    expect(resolveInRoot(root, '/../../outside.pem')).toBe(join(root, 'outside.pem'));
    expect(files.read('/../outside.pem').ok).toBe(false);
    expect(files.read('/etc/containerd/certs.d/docker.io/../../../../../outside.pem').ok).toBe(false);
  });

  it('an absolute symlink target starts again from the root', () => {
    symlinkSync(join(base, 'outside.pem'), join(root, 'etc/containerd/certs.d/docker.io/abs.crt'));
    const r = files.read('/etc/containerd/certs.d/docker.io/abs.crt');
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(SECRET);
    symlinkSync('/etc/ssl/corp/ca.pem', join(root, 'etc/containerd/certs.d/docker.io/inside.crt'));
    expect(files.read('/etc/containerd/certs.d/docker.io/inside.crt')).toEqual({ ok: true, text: 'inside-ca' });
  });

  it('a relative symlink cannot climb out; one inside the root works', () => {
    symlinkSync('../../../../../../../../outside.pem', join(root, 'etc/containerd/certs.d/docker.io/rel.crt'));
    expect(files.read('/etc/containerd/certs.d/docker.io/rel.crt').ok).toBe(false);
    symlinkSync('../../../ssl/corp/ca.pem', join(root, 'etc/containerd/certs.d/docker.io/rel-in.crt'));
    expect(files.read('/etc/containerd/certs.d/docker.io/rel-in.crt')).toEqual({ ok: true, text: 'inside-ca' });
  });

  it('a symlinked directory (k3s keeps its config elsewhere) is followed inside the root', () => {
    put('/var/lib/rancher/k3s/agent/etc/containerd/config.toml', 'version = 2\n');
    symlinkSync('/var/lib/rancher/k3s/agent/etc/containerd', join(root, 'etc/k3s-containerd'));
    expect(files.read('/etc/k3s-containerd/config.toml')).toEqual({ ok: true, text: 'version = 2\n' });
    expect(files.list('/etc/k3s-containerd')).toEqual(['config.toml']);
    symlinkSync(base, join(root, 'etc/escape-dir'));
    expect(files.list('/etc/escape-dir')).toBeUndefined();
  });

  it('a symlink loop is an error, not a hang', () => {
    symlinkSync('loop-b', join(root, 'etc/loop-a'));
    symlinkSync('loop-a', join(root, 'etc/loop-b'));
    const r = files.read('/etc/loop-a');
    expect(r).toMatchObject({ ok: false, kind: 'error' });
  });
});

describe('no read blocks', () => {
  it('a FIFO is refused at once, not waited on', () => {
    execFileSync('mkfifo', [join(root, 'etc/containerd/fifo.toml')]);
    const started = performance.now();
    const r = files.read('/etc/containerd/fifo.toml');
    expect(r).toMatchObject({ ok: false, kind: 'error', message: expect.stringMatching(/not a regular file/) });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('tagdrift registries with a FIFO as config.toml answers with the reason', async () => {
    const fifoRoot = join(base, 'fifo-node');
    mkdirSync(join(fifoRoot, 'etc/containerd'), { recursive: true });
    execFileSync('mkfifo', [join(fifoRoot, 'etc/containerd/config.toml')]);
    const r = await runCli(['registries', '--host-root', fifoRoot, '--runtime-version', '1.7.20', '-o', 'json'], {}, 10_000);
    expect(r.stdout + r.stderr).toMatch(/not a regular file/);
    expect([0, 1]).toContain(r.code);
  });
});
