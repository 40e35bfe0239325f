/**
 * Real test bed: a second registry configured in hosts.toml as a mirror with
 * `resolve` really receives the node's tag resolution (HEAD …/manifests/<tag>?ns=…),
 * and tagdrift's plan names it as the endpoint that resolves tags.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { runCli } from '../helpers/cli.js';
import { bedReleases, releaseLabel, RELEASES } from '../helpers/releases.js';

for (const rel of bedReleases()) {
  describe(releaseLabel(rel), () => {
    let bed: TestBed;

    beforeAll(async () => {
      bed = await TestBed.start({ release: rel, nodeName: 'node-m', withMirror: true, mirrorResolves: true });
      const img = await bed.publish('shop/web', '1.0', { version: '1.0.0' });
      await bed.publish('shop/web', '1.0', { version: '1.0.0' }, bed.mirror!); // the mirror holds the same tag
      await bed.kubelet.runPod({ namespace: 'shop', name: 'web-0', containers: [{ name: 'web', image: img.ref, imagePullPolicy: 'Always' }] });
    });

    afterAll(async () => {
      await bed?.stop();
    });

    describe('a mirror with resolve on the real node', () => {
      it('receives the tag resolution, with ?ns= naming the upstream registry', () => {
        const log = readFileSync(bed.mirror!.logFile, 'utf8');
        const head = log.split('\n').find((l) => l.includes(`"HEAD /v2/shop/web/manifests/1.0?ns=${encodeURIComponent(bed.upstream.host)} HTTP/1.1" 200`));
        expect(head, 'mirror access log').toBeDefined();
        expect(head).toContain('containerd/');
      });

      it('is named by the plan as what resolves tags, with a mirror-resolves-tags finding', async () => {
        const res = await runCli(['scan', ...bed.scanArgs(), '-o', 'json']);
        expect(res.code).toBe(0);
        const report = JSON.parse(res.stdout) as Report;
        expect(report.registries?.rules.startsWith(`containerd ${RELEASES[rel].version}`)).toBe(true);
        const plan = report.registries?.registries.find((p) => p.registry === bed.upstream.host);
        expect(plan).toMatchObject({ resolvesTagsVia: bed.mirror!.url, mirrorResolves: true, mode: 'hosts' });
        expect(plan?.endpoints.map((e) => e.url)).toEqual([bed.mirror!.url, bed.upstream.url, bed.upstream.url]);
        const f = report.findings.find((x) => x.code === 'mirror-resolves-tags');
        expect(f?.evidence).toMatchObject({ registry: bed.upstream.host, endpoint: bed.mirror!.url });
      });

      it('tagdrift registries prints the same plan without the Kubernetes API', async () => {
        const res = await runCli(['registries', '--runtime-endpoint', bed.containerd.endpoint, '--containerd-config', bed.containerd.configPath, '-o', 'json']);
        expect(res.code).toBe(0);
        const out = JSON.parse(res.stdout) as { registries: { registry: string; resolvesTagsVia: string }[] };
        expect(out.registries.find((p) => p.registry === bed.upstream.host)?.resolvesTagsVia).toBe(bed.mirror!.url);
      });
    });

    describe('a mirror with resolve that holds an older copy of the tag', () => {
      it('→ mirror-stale (mirror and upstream digests), and the container pulled through it → running-stale via the mirror', async () => {
        const before = (await bed.kubelet.imageStatus(`${bed.upstream.host}/shop/web:1.0`))!;
        const fix = await bed.publish('shop/web', '1.0', { version: '1.0.1' }); // upstream only; the mirror keeps its copy
        const res = await runCli(['scan', ...bed.scanArgs(), '-o', 'json']);
        const report = JSON.parse(res.stdout) as Report;
        const tag = `${bed.upstream.host}/shop/web:1.0`;
        const runningDigest = before.repoDigests[0]!.split('@')[1];
        const mirror = report.findings.find((f) => f.code === 'mirror-stale' && f.image === tag);
        expect(mirror, JSON.stringify(report.findings.map((f) => f.code))).toBeDefined();
        expect(mirror!.evidence).toMatchObject({ mirrorDigest: runningDigest, registryDigest: fix.manifestDigest, endpoint: bed.mirror!.url, upstreamEndpoint: bed.upstream.url });
        expect(mirror!.containers).toEqual([{ namespace: 'shop', pod: 'web-0', container: 'web' }]);
        const stale = report.findings.find((f) => f.code === 'running-stale' && f.image === tag);
        expect(stale?.evidence).toMatchObject({ runningDigest, registryDigest: fix.manifestDigest, mirrorEndpoint: bed.mirror!.url, mirrorDigest: runningDigest });
        expect(stale?.remediation).toContain('drop "resolve"');
        // The mirror was asked the way containerd asks it: HEAD with ns=<upstream host>.
        const log = readFileSync(bed.mirror!.logFile, 'utf8');
        expect(log.split('\n').some((l) => l.includes(`"HEAD /v2/shop/web/manifests/1.0?ns=${encodeURIComponent(bed.upstream.host)} HTTP/1.1" 200`) && l.includes('"tagdrift"'))).toBe(true);
      });
    });
  });
}
