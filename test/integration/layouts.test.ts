/**
 * Real test bed, on every containerd release it runs: a node laid out as k3s lays it out, scanned by
 * `tagdrift scan` with no flags from a shell on that node; and a resolve-capable mirror configured
 * for every registry through `certs.d/_default`. Each case first reads what containerd did (which
 * host answered its tag questions, what it pulled), then what tagdrift says.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { runCli } from '../helpers/cli.js';
import { bedReleases, releaseLabel } from '../helpers/releases.js';

/** Lines of a registry's access log where containerd asked about repo:tag on behalf of `ns`. */
const containerdAsked = (logFile: string, repo: string, tag: string, ns: string) =>
  readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes(`/v2/${repo}/manifests/${tag}?ns=${encodeURIComponent(ns)} `) && l.includes('containerd/'));

for (const rel of bedReleases()) {
  describe(releaseLabel(rel), () => {
    describe('a k3s node, scanned from a shell on it with no flags', () => {
      let bed: TestBed;
      let v1: Awaited<ReturnType<TestBed['publish']>>;
      let v2: Awaited<ReturnType<TestBed['publish']>>;
      beforeAll(async () => {
        bed = await TestBed.start({ release: rel, nodeName: 'k3s-node', withMirror: true, mirrorResolves: true, k3sLayout: true });
        v1 = await bed.publish('k3s/web', '1.0', { version: '1.0.0' });
        await bed.publish('k3s/web', '1.0', { version: '1.0.0' }, bed.mirror!);
        await bed.kubelet.runPod({ namespace: 'web', name: 'web-0', containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'Always' }] });
        v2 = await bed.publish('k3s/web', '1.0', { version: '1.0.1' }); // upstream moves; the mirror keeps its copy
      }, 240_000);
      afterAll(async () => {
        await bed?.stop();
      });

      it('containerd runs from the k3s paths and asked the mirror for the tag', () => {
        expect(bed.containerd.configPath).toContain(join(bed.dir, 'node'));
        expect(readFileSync(bed.containerd.configPath, 'utf8')).toContain('/run/k3s/containerd/containerd.sock');
        expect(containerdAsked(bed.mirror!.logFile, 'k3s/web', '1.0', bed.upstream.host).length).toBeGreaterThan(0);
      });

      it('finds the k3s socket and configuration by itself and reports the mirror as stale', async () => {
        const res = await runCli(['scan', '-o', 'json'], {}, 60_000, (cmd, args) => bed.containerd.nodeCommand(cmd, args));
        expect(res.stderr).not.toMatch(/socket.*not found|Error/);
        const report = JSON.parse(res.stdout) as Report;
        expect(report.sources.runtime.ok, JSON.stringify(report.sources.runtime)).toBe(true);
        expect(report.registries?.layout).toMatchObject({ id: 'k3s', source: 'detected' });
        const stale = report.findings.find((f) => f.code === 'mirror-stale' && f.image === v1.ref);
        expect(stale, JSON.stringify(report.findings.map((f) => f.code))).toBeDefined();
        expect(stale!.evidence).toMatchObject({ endpoint: bed.mirror!.url, mirrorDigest: v1.manifestDigest, registryDigest: v2.manifestDigest });
      });

      it('control: with the k3s files absent the same command says where it looked', async () => {
        const res = await runCli(['scan', '-o', 'json', '--host-root', join(bed.dir, 'empty-root')], {}, 60_000, (cmd, args) => bed.containerd.nodeCommand(cmd, args));
        const report = JSON.parse(res.stdout) as Report;
        // The socket is still found (it is not under the host root); the configuration is not.
        expect(report.sources.runtime.ok).toBe(true);
        const missing = report.findings.find((f) => f.code === 'config-not-found');
        expect(missing?.evidence['lookedFor']).toContain('/var/lib/rancher/k3s/agent/etc/containerd/config.toml');
        expect(report.findings.some((f) => f.code === 'mirror-stale')).toBe(false);
      });
    });

    describe('a resolve-capable mirror for every registry in certs.d/_default', () => {
      let bed: TestBed;
      let v1: Awaited<ReturnType<TestBed['publish']>>;
      let v2: Awaited<ReturnType<TestBed['publish']>>;
      beforeAll(async () => {
        bed = await TestBed.start({ release: rel, nodeName: 'default-node', withMirror: true });
        // The registry's own directory goes; _default names the mirror and, as nodes with a
        // plain-HTTP registry must, where the registry itself is served.
        rmSync(join(bed.containerd.certsDir, bed.upstream.host), { recursive: true, force: true });
        mkdirSync(join(bed.containerd.certsDir, '_default'), { recursive: true });
        writeFileSync(join(bed.containerd.certsDir, '_default', 'hosts.toml'), [
          `server = "${bed.upstream.url}"`, '',
          `[host."${bed.mirror!.url}"]`, '  capabilities = ["pull", "resolve"]', '',
          `[host."${bed.upstream.url}"]`, '  capabilities = ["pull", "resolve"]', '',
        ].join('\n'));
        v1 = await bed.publish('dflt/web', '1.0', { version: '1.0.0' });
        await bed.publish('dflt/web', '1.0', { version: '1.0.0' }, bed.mirror!);
        await bed.kubelet.runPod({ namespace: 'web', name: 'web-0', owner: { kind: 'Deployment', name: 'web' }, containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'IfNotPresent' }] });
        v2 = await bed.publish('dflt/web', '1.0', { version: '1.0.1' });
      }, 240_000);
      afterAll(async () => {
        await bed?.stop();
      });

      it('containerd resolved the tag through the _default mirror, and a re-pull still gets its old copy', async () => {
        expect(containerdAsked(bed.mirror!.logFile, 'dflt/web', '1.0', bed.upstream.host).length).toBeGreaterThan(0);
        await bed.kubelet.pull(v1.ref);
        const status = await bed.kubelet.imageStatus(v1.ref);
        expect(status!.repoDigests.map((d) => d.split('@')[1])).toEqual([v1.manifestDigest]);
        expect(v2.manifestDigest).not.toBe(v1.manifestDigest);
      });

      it('tagdrift plans the _default mirror and reports mirror-stale and running-stale through it', async () => {
        const res = await runCli(['scan', ...bed.scanArgs(), '-o', 'json']);
        const report = JSON.parse(res.stdout) as Report;
        const plan = report.registries?.registries.find((p) => p.registry === bed.upstream.host);
        expect(plan).toMatchObject({ resolvesTagsVia: bed.mirror!.url, mirrorResolves: true });
        const ms = report.findings.find((f) => f.code === 'mirror-stale' && f.image === v1.ref);
        expect(ms?.evidence).toMatchObject({ endpoint: bed.mirror!.url, mirrorDigest: v1.manifestDigest, registryDigest: v2.manifestDigest });
        const rs = report.findings.find((f) => f.code === 'running-stale' && f.image === v1.ref);
        expect(rs?.evidence).toMatchObject({ runningDigest: v1.manifestDigest, mirrorEndpoint: bed.mirror!.url });
      });
    });
  });
}
