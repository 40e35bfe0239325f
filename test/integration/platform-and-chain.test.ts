/**
 * Real test bed (containerd 1.6.20, distribution registries): multi-platform indexes
 * with attestation manifests, and mirror chains. Each case first checks what
 * containerd really pulled, then what tagdrift says — controls included.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { startRegistry, type RunningRegistry } from '../../testbed/registry.js';
import { freePort } from '../../testbed/proc.js';
import { runCli } from '../helpers/cli.js';
import { bedReleases, releaseLabel } from '../helpers/releases.js';

for (const rel of bedReleases()) {
  describe(releaseLabel(rel), () => {
    async function scan(b: TestBed): Promise<Report> {
      const res = await runCli(['scan', ...b.scanArgs(), '-o', 'json']);
      expect(res.stderr).not.toMatch(/Error|at .*\.js/);
      return JSON.parse(res.stdout) as Report;
    }
    const about = (r: Report, image: string): Finding[] => r.findings.filter((f) => f.image === image);
    const repoDigest = async (b: TestBed, ref: string) => (await b.kubelet.imageStatus(ref))!.repoDigests.map((d) => d.split('@')[1]);

    describe('multi-platform images: the platform the node runs decides', () => {
      let bed: TestBed;
      let report: Report;
      const v1 = { version: '1.0.0', revision: 'aaa' };
      const v2 = { version: '1.0.1', revision: 'bbb' };
      const other1 = { version: 'other-1' };
      const other2 = { version: 'other-2' };
      const pulled: Record<string, { before: string; after?: string }> = {};
      let first: Record<string, Awaited<ReturnType<TestBed['publishIndex']>>> = {};
      let second: Record<string, Awaited<ReturnType<TestBed['publishIndex']>>> = {};

      beforeAll(async () => {
        bed = await TestBed.start({ release: rel, nodeName: 'node-multi' });
        first = {
          attest: await bed.publishIndex('multi/attest', '1', { native: v1, other: other1, attestation: 'run-1' }),
          other: await bed.publishIndex('multi/other', '1', { native: v1, other: other1, attestation: 'run-1' }),
          added: await bed.publishIndex('multi/added', '1', { native: v1, attestation: 'run-1' }),
          changed: await bed.publishIndex('multi/changed', '1', { native: v1, other: other1, attestation: 'run-1' }),
          control: await bed.publishIndex('multi/control', '1', { native: v1, other: other1, attestation: 'run-1' }),
        };
        for (const [name, img] of Object.entries(first)) {
          await bed.kubelet.runPod({ namespace: 'multi', name: `${name}-0`, owner: { kind: 'Deployment', name }, containers: [{ name, image: img.ref, imagePullPolicy: 'IfNotPresent' }] });
          pulled[name] = { before: (await bed.kubelet.imageStatus(img.ref))!.id };
        }
        // CI pushes again under the same tags.
        second = {
          attest: await bed.publishIndex('multi/attest', '1', { native: v1, other: other1, attestation: 'run-2' }),
          other: await bed.publishIndex('multi/other', '1', { native: v1, other: other2, attestation: 'run-2' }),
          added: await bed.publishIndex('multi/added', '1', { native: v1, other: other1, attestation: 'run-2' }),
          changed: await bed.publishIndex('multi/changed', '1', { native: v2, other: other1, attestation: 'run-2' }),
        };
        report = await scan(bed);
        // What containerd pulls for each tag now, on the same node.
        for (const [name, img] of Object.entries(second)) {
          await bed.kubelet.pull(img.ref);
          pulled[name]!.after = (await bed.kubelet.imageStatus(img.ref))!.id;
        }
      }, 300_000);

      afterAll(async () => {
        await bed?.stop();
      });

      it('containerd recorded the index digest and runs the native child (the image ID is its config digest)', async () => {
        for (const [name, img] of Object.entries(first)) {
          expect(pulled[name]!.before).toBe(img.imageId);
        }
        expect(await repoDigest(bed, first.control!.ref)).toContain(first.control!.indexDigest);
        for (const name of ['attest', 'other', 'added', 'changed']) expect(second[name]!.indexDigest).not.toBe(first[name]!.indexDigest);
      });

      for (const name of ['attest', 'other', 'added'] as const) {
        it(`only ${name === 'attest' ? 'the attestation' : name === 'other' ? 'another platform' : 'an added platform'} changed: containerd pulls the same image; tagdrift reports it fresh (info tag-republished only)`, () => {
          expect(pulled[name]!.after, 'containerd pulled the same native image').toBe(pulled[name]!.before);
          const f = about(report, first[name]!.ref);
          expect(f.filter((x) => /^(running-|cache-stale|mirror-stale)/.test(x.code)), JSON.stringify(f)).toEqual([]);
          const info = f.find((x) => x.code === 'tag-republished')!;
          expect(info.severity).toBe('info');
          expect(info.evidence).toMatchObject({ runningDigest: first[name]!.indexDigest, registryDigest: second[name]!.indexDigest, registryImageId: first[name]!.imageId });
        });
      }

      it("the node's platform changed: containerd pulls another image; running-stale is critical, naming the platform and both children", () => {
        expect(pulled['changed']!.after).toBe(second['changed']!.imageId);
        expect(pulled['changed']!.after).not.toBe(pulled['changed']!.before);
        const f = about(report, first['changed']!.ref).find((x) => x.code === 'running-stale')!;
        expect(f.severity).toBe('critical');
        expect(f.evidence).toMatchObject({
          runningDigest: first['changed']!.indexDigest,
          registryDigest: second['changed']!.indexDigest,
          runningImageId: first['changed']!.imageId,
          registryImageId: second['changed']!.imageId,
          registryPlatformManifest: second['changed']!.nativeManifest,
          registryBuild: { version: '1.0.1', revision: 'bbb' },
          runningBuild: { version: '1.0.0', revision: 'aaa' },
        });
        expect(f.evidence['platform']).toMatch(/^linux\//);
      });

      it('control: an index nobody re-pushed gets no finding about staleness at all', () => {
        expect(about(report, first['control']!.ref).filter((x) => x.code !== 'mutable-tag')).toEqual([]);
      });
    });

    describe('mirror chains: the host containerd really resolves through', () => {
      let bed: TestBed;
      let m1: RunningRegistry; // lacks the repository: 404
      let m2: RunningRegistry; // holds the old copy
      let report: Report;
      let downUrl: string;
      let v1: Awaited<ReturnType<TestBed['publish']>>;
      let v2: Awaited<ReturnType<TestBed['publish']>>;
      let f1: Awaited<ReturnType<TestBed['publish']>>;
      const tag = () => `${bed.upstream.host}/chain/web:1.0`;

      beforeAll(async () => {
        bed = await TestBed.start({ release: rel, nodeName: 'node-chain' });
        m1 = await startRegistry(bed.dir, 'mirror-empty');
        m2 = await startRegistry(bed.dir, 'mirror-stale');
        downUrl = `http://127.0.0.1:${await freePort()}`; // nothing listens there
        v1 = await bed.publish('chain/web', '1.0', { version: '1.0.0' });
        await bed.publish('chain/web', '1.0', { version: '1.0.0' }, m2);
        f1 = await bed.publish('chain/fresh', '1.0', { version: 'f1' });
        // The upstream is reached through a chain: m1 (empty), m2 (a stale cache) for it,
        // and a mirror that is down for the second registry name (localhost:PORT).
        const local = `localhost:${bed.upstream.host.split(':')[1]}`;
        bed.containerd.writeRoutes([
          { host: bed.upstream.host, serverUrl: bed.upstream.url, mirrors: [{ url: m1.url, capabilities: ['pull', 'resolve'] }, { url: m2.url, capabilities: ['pull', 'resolve'] }] },
          { host: local, serverUrl: `http://${local}`, mirrors: [{ url: downUrl, capabilities: ['pull', 'resolve'] }] },
        ]);
        await bed.kubelet.runPod({ namespace: 'chain', name: 'web-0', owner: { kind: 'Deployment', name: 'web' }, containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'IfNotPresent' }] });
        await bed.kubelet.runPod({ namespace: 'chain', name: 'fresh-0', owner: { kind: 'Deployment', name: 'fresh' }, containers: [{ name: 'fresh', image: `${local}/chain/fresh:1.0`, imagePullPolicy: 'Always' }] });
        v2 = await bed.publish('chain/web', '1.0', { version: '1.0.1' }); // upstream only
        report = await scan(bed);
      }, 300_000);

      afterAll(async () => {
        await m1?.stop();
        await m2?.stop();
        await bed?.stop();
      });

      it('containerd walked the chain: 404 at the empty mirror, the old copy from the stale one — even after the upstream push', async () => {
        const ns = `ns=${encodeURIComponent(bed.upstream.host)}`;
        const m1log = readFileSync(m1.logFile, 'utf8').split('\n');
        expect(m1log.some((l) => l.includes(`"HEAD /v2/chain/web/manifests/1.0?${ns} HTTP/1.1" 404`) && l.includes('containerd/'))).toBe(true);
        await bed.kubelet.pull(tag());
        expect(await repoDigest(bed, tag())).toEqual([v1.manifestDigest]); // a re-pull gets the mirror's old digest
        const m2log = readFileSync(m2.logFile, 'utf8').split('\n');
        expect(m2log.filter((l) => l.includes(`"HEAD /v2/chain/web/manifests/1.0?${ns} HTTP/1.1" 200`) && l.includes('containerd/')).length).toBeGreaterThanOrEqual(2);
      });

      it('mirror-stale names the second mirror; the first is one info mirror-skipped; running-stale via that mirror offers no restart', () => {
        const ms = about(report, tag()).filter((f) => f.code === 'mirror-stale');
        expect(ms).toHaveLength(1);
        expect(ms[0]).toMatchObject({ severity: 'critical', evidence: { endpoint: m2.url, mirrorDigest: v1.manifestDigest, registryDigest: v2.manifestDigest, chainPosition: 1, skippedBefore: [m1.url] } });
        const skipped = report.findings.filter((f) => f.code === 'mirror-skipped' && f.evidence['endpoint'] === m1.url);
        expect(skipped).toHaveLength(1);
        // It is passed over for every tag of the registry (the pause image too, which m2 lacks as well).
        expect(skipped[0]!.evidence['resolvedThrough']).toContain(m2.url);
        expect(skipped[0]!.evidence['tags']).toContain(tag());
        const stale = about(report, tag()).find((f) => f.code === 'running-stale')!;
        expect(stale.evidence).toMatchObject({ mirrorEndpoint: m2.url, mirrorDigest: v1.manifestDigest, registryDigest: v2.manifestDigest });
        expect(stale.remediation).toContain(`First refresh ${m2.url}`);
        expect(stale.remediation).not.toMatch(/rollout restart|recreate pod/);
        expect(report.findings.filter((f) => f.code === 'check-failed' && f.image === tag())).toEqual([]);
        expect(report.findings.map((f) => f.remediation).join('\n')).not.toMatch(/cannot be re-created/);
      });

      it('control: a down first mirror is passed over; the container runs what upstream answers → no stale finding, the mirror reported once', () => {
        const local = `localhost:${bed.upstream.host.split(':')[1]}/chain/fresh:1.0`;
        expect(report.containers.find((c) => c.pod === 'fresh-0')?.runningDigest).toBe(f1.manifestDigest);
        const f = about(report, local);
        expect(f.filter((x) => /stale|check-failed/.test(x.code))).toEqual([]);
        const skipped = report.findings.filter((x) => x.code === 'mirror-skipped' && x.evidence['endpoint'] === downUrl);
        expect(skipped).toHaveLength(1);
        expect(skipped[0]!.evidence).toMatchObject({ reasons: [{ reason: 'unreachable' }] });
      });

      it('no finding contradicts the report\'s own registryTruth', () => {
        const answered = new Map((report.registryTruth ?? []).filter((a) => a.result.ok).map((a) => [`${a.endpoint} ${a.registry}/${a.repository}:${a.tag}`, (a.result as { digest: string }).digest]));
        for (const f of report.findings) {
          const e = f.evidence as Record<string, string>;
          if (e['mirrorEndpoint']) expect(answered.get(`${e['mirrorEndpoint']} ${f.image}`)).toBe(e['mirrorDigest']);
          if (f.code === 'mirror-stale') {
            expect(answered.get(`${e['endpoint']} ${f.image}`)).toBe(e['mirrorDigest']);
            expect(answered.get(`${e['upstreamEndpoint']} ${f.image}`)).toBe(e['registryDigest']);
          }
          if (f.code === 'running-stale') expect(answered.get(`${e['endpoint']} ${f.image}`)).toBe(e['registryDigest']);
        }
      });
    });

    describe('relative and absolute glob imports', () => {
      for (const mode of ['relative-glob', 'absolute-glob'] as const) {
        describe(mode, () => {
          let bed: TestBed;
          beforeAll(async () => {
            bed = await TestBed.start({ release: rel, nodeName: `node-${mode}`, withMirror: true, mirrorResolves: true, criDropIn: mode });
            const img = await bed.publish('imports/web', '1.0', { version: '1.0.0' });
            await bed.publish('imports/web', '1.0', { version: '1.0.0' }, bed.mirror!);
            await bed.kubelet.pull(img.ref);
          }, 240_000);
          afterAll(async () => {
            await bed?.stop();
          });

          // 1.6.20 expands a relative import against the working directory (fixed in 1.6.29, 1.7.16 and 2.0).
          const loads = mode === 'absolute-glob' || rel !== '1.6';
          it(`containerd ${loads ? 'loads' : 'does not load'} the drop-in, and tagdrift's plan agrees`, async () => {
            const mirrorAsked = readFileSync(bed.mirror!.logFile, 'utf8').split('\n').some((l) => l.includes('/v2/imports/web/manifests/1.0?ns=') && l.includes('containerd/'));
            expect(mirrorAsked, 'containerd asked the mirror').toBe(loads);
            const res = await runCli(['registries', '--runtime-endpoint', bed.containerd.endpoint, '--containerd-config', bed.containerd.configPath, '-o', 'json']);
            const out = JSON.parse(res.stdout) as { registries: { registry: string; mirrorResolves: boolean }[]; findings: Finding[] };
            // Without the drop-in no host directory is read, so the registry is not even configured.
            expect(out.registries.find((p) => p.registry === bed.upstream.host)?.mirrorResolves ?? false).toBe(mirrorAsked);
            const ignored = out.findings.filter((f) => f.code === 'mirror-config-ignored' && /relative glob/.test(f.message));
            expect(ignored.length).toBe(mirrorAsked ? 0 : 1);
            if (!mirrorAsked) expect(ignored[0]!.message).toContain(join(bed.dir, 'node', 'conf.d', 'cri.toml'));
          });
        });
      }
    });
  });
}
