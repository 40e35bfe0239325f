/**
 * The real-node tier: a real containerd (CRI), a real registry, a fake Kubernetes API
 * and the built CLI. Needs root and the Debian packages .ci/run installs; it fails
 * (never skips) when they are missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCriClient } from '../../src/adapters/cri/client.js';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { waitFor } from '../../testbed/proc.js';
import type { RunningPod } from '../../testbed/kubelet.js';
import { runtimeClientConformance } from '../conformance/runtime-client.js';
import { runCli } from '../helpers/cli.js';
import { loadOptions } from '../../src/config/options.js';
import { createSources } from '../../src/cli/sources.js';
import { createLogger } from '../../src/log.js';
import { scanNode } from '../../src/scan/scan.js';
import { bedReleases, releaseLabel, RELEASES } from '../helpers/releases.js';
import { criFields, fakeWorld, rawCri } from '../conformance/cri-fields.js';
import { FakeCri, type EmulatedRelease } from '../fakes/fake-cri.js';

for (const rel of bedReleases()) {
  describe(releaseLabel(rel), () => {
    let bed: TestBed;
    let webPod: RunningPod;
    let apiPod: RunningPod;
    let workerPod: RunningPod;
    const digests: Record<string, string> = {};
    let apiImage: { ref: string; manifestDigest: string; imageId: string };

    beforeAll(async () => {
      bed = await TestBed.start({ release: rel, nodeName: 'node-a' });
      const v1 = await bed.publish('shop/web', '1.0', { version: '1.0.0', revision: 'aaaa111' });
      webPod = await bed.kubelet.runPod({
        namespace: 'shop', name: 'web-6b7c8d9f-abcde', owner: { kind: 'ReplicaSet', name: 'web-6b7c8d9f', templateHash: '6b7c8d9f' },
        containers: [{ name: 'web', image: v1.ref, imagePullPolicy: 'IfNotPresent' }],
      });
      apiImage = await bed.publish('shop/api', 'latest', { version: '4.2.0' });
      apiPod = await bed.kubelet.runPod({
        namespace: 'shop', name: 'api-0', owner: { kind: 'StatefulSet', name: 'api' },
        containers: [{ name: 'api', image: apiImage.ref, imagePullPolicy: 'IfNotPresent' }],
      });
      const worker = await bed.publish('shop/worker', '2.3', { version: '2.3.0' });
      workerPod = await bed.kubelet.runPod({
        namespace: 'jobs', name: 'worker-x', owner: { kind: 'DaemonSet', name: 'worker' },
        containers: [{ name: 'worker', image: `${bed.upstream.host}/shop/worker@${worker.manifestDigest}`, imagePullPolicy: 'IfNotPresent' }],
      });
      // The tag is re-pushed, then re-pulled on this node by another pod while web keeps running.
      const v2 = await bed.publish('shop/web', '1.0', { version: '1.0.1', revision: 'bbbb222' });
      await bed.kubelet.runPod({ namespace: 'shop', name: 'web-canary', containers: [{ name: 'web', image: v2.ref, imagePullPolicy: 'Always' }] });
      Object.assign(digests, { v1: v1.manifestDigest, v2: v2.manifestDigest, worker: worker.manifestDigest });
    });

    afterAll(async () => {
      await bed?.stop();
    });

    async function scanJson(extra: string[] = []): Promise<{ code: number; report: Report; stderr: string }> {
      const res = await runCli(['scan', ...bed.scanArgs(), '--output', 'json', ...extra]);
      return { code: res.code, report: JSON.parse(res.stdout) as Report, stderr: res.stderr };
    }

    describe('tagdrift scan on a real node', () => {
      it('reports running-superseded for the re-pushed, re-pulled tag, naming the pod and both digests', async () => {
        const { code, report } = await scanJson();
        expect(code).toBe(0);
        expect(report.intentSource).toBe('kubernetes');
        const f = report.findings.filter((x) => x.code === 'running-superseded');
        expect(f).toHaveLength(1);
        expect(f[0]!.severity).toBe('warning');
        expect(f[0]!.image).toBe(`${bed.upstream.host}/shop/web:1.0`);
        expect(f[0]!.containers).toEqual([{ namespace: 'shop', pod: webPod.spec.name, container: 'web' }]);
        expect(f[0]!.evidence['runningDigest']).toBe(digests['v1']);
        expect(f[0]!.evidence['nodeDigest']).toBe(digests['v2']);
        expect(f[0]!.evidence['runningBuild']).toMatchObject({ version: '1.0.0', revision: 'aaaa111' });
        expect(f[0]!.evidence['nodeBuild']).toMatchObject({ version: '1.0.1', revision: 'bbbb222' });
        expect(f[0]!.remediation).toContain('kubectl -n shop rollout restart deployment/web');
      });

      it('gives the digest-pinned container no finding at all', async () => {
        const { report } = await scanJson();
        const mentions = report.findings.filter((x) => x.containers.some((c) => c.pod === workerPod.spec.name));
        expect(mentions).toEqual([]);
        const worker = report.containers.find((c) => c.pod === workerPod.spec.name);
        expect(worker?.runningDigest).toBe(digests['worker']);
      });

      it('reports latest with IfNotPresent as a mutable-tag warning', async () => {
        const { report } = await scanJson();
        const f = report.findings.find((x) => x.code === 'mutable-tag' && x.containers.some((c) => c.pod === apiPod.spec.name));
        expect(f?.severity).toBe('warning');
        expect(f?.evidence['pullPolicy']).toBe('IfNotPresent');
      });

      it('fills the JSON report contract from the real runtime', async () => {
        const { report } = await scanJson();
        expect(report.schemaVersion).toBe(1);
        expect(report.node).toBe('node-a');
        expect(report.runtime).toMatchObject({ name: 'containerd', apiVersion: 'v1' });
        const web = report.containers.find((c) => c.id === webPod.containerIds['web']);
        expect(web).toMatchObject({
          namespace: 'shop', pod: webPod.spec.name, container: 'web', image: `${bed.upstream.host}/shop/web:1.0`,
          imageId: webPod.imageIds['web'], runningDigest: digests['v1'], state: 'running', pullPolicy: 'IfNotPresent',
          owner: { kind: 'Deployment', name: 'web' },
        });
        expect(report.images.every((i) => /^sha256:[a-f0-9]{64}$/.test(i.id))).toBe(true);
      });

      it('--fail-on warning turns the findings into exit 1', async () => {
        const { code } = await scanJson(['--fail-on', 'warning']);
        expect(code).toBe(1);
      });

      it('without the Kubernetes API runs on CRI evidence alone, says so, and claims only what this release lets it know', async () => {
        // What this containerd keeps of the pod's image string (kubelet passes it at CreateContainer).
        const listed = await bed.kubelet.raw<{ containers: { id: string; image: { image: string; userSpecifiedImage: string } }[] }>('runtime', 'ListContainers');
        const kept = listed.containers.find((c) => c.id === webPod.containerIds['web'])!.image.userSpecifiedImage;
        expect(kept, 'user_specified_image is stored by 1.7.24 and 2.1.9, not by 1.6.20').toBe(rel === '1.6' ? '' : `${bed.upstream.host}/shop/web:1.0`);
        const res = await runCli(['scan', '--runtime-endpoint', bed.containerd.endpoint, '--node-name', 'node-a', '-o', 'json']);
        expect(res.code).toBe(0);
        const report = JSON.parse(res.stdout) as Report;
        expect(report.intentSource).toBe('cri-only');
        expect(report.findings.map((f) => f.code)).toContain('pod-intent-unavailable');
        const superseded = report.findings.filter((f) => f.code === 'running-superseded');
        if (kept) {
          // The runtime itself says which tag the pod meant: the finding stands on that.
          expect(superseded).toHaveLength(1);
          expect(superseded[0]!.evidence).toMatchObject({ runningDigest: digests['v1'], nodeDigest: digests['v2'] });
        } else {
          // Nothing says which tag the pod meant, so no tag finding is invented.
          expect(superseded).toEqual([]);
        }
      });

      it('a missing socket gives runtime-unavailable and exit code 3', async () => {
        const res = await runCli(['scan', '--runtime-endpoint', `unix://${bed.dir}/no-such.sock`, '--node-name', 'node-a', '-o', 'json']);
        expect(res.code).toBe(3);
        const report = JSON.parse(res.stdout) as Report;
        const f = report.findings.find((x) => x.code === 'runtime-unavailable');
        expect(f?.severity).toBe('critical');
        expect(f?.evidence['reason']).toBe('socket-missing');
      });

      it('a forbidden pod list is classified, the scan still runs, and it is not a clean scan (exit 3)', async () => {
        bed.kube.failWith = 403;
        try {
          const { code, report } = await scanJson();
          expect(code).toBe(3);
          expect(report.sources.pods.error?.kind).toBe('forbidden');
          expect(report.intentSource).toBe('cri-only');
        } finally {
          bed.kube.failWith = undefined;
        }
      });
    });

    describe('one scan is one pass', () => {
      it('enters each stage once and asks the runtime each question once, on the real node', async () => {
        const options = loadOptions('scan', [...bed.scanArgs()], {});
        const calls: string[] = [];
        const sources = await createSources(options, createLogger('error'), { onRuntimeCall: (method) => calls.push(method) });
        try {
          const stages: string[] = [];
          const { report } = await scanNode(sources.deps(), sources.collectOptions(), { mutableTagPatterns: options.mutableTags }, (s) => stages.push(s));
          expect(report.findings.some((f) => f.code === 'running-superseded')).toBe(true);
          expect(stages).toEqual(['collect', 'join', 'registries', 'details', 'analyze']);
          const count = (m: string) => calls.filter((c) => c === m).length;
          expect({ Version: count('Version'), ListImages: count('ListImages'), ListContainers: count('ListContainers') }).toEqual({ Version: 1, ListImages: 1, ListContainers: 1 });
          // Build metadata only for the images the findings are about (the two web builds).
          expect(count('ImageStatus')).toBe(2);
        } finally {
          sources.close();
        }
      });
    });

    describe('the CRI fake checked against this release', () => {
      it('emulating it, the fake answers Version, ListImages, ListContainers and ContainerStatus field by field as the real runtime', async () => {
        const pods = [webPod, apiPod, workerPod];
        const ids = pods.flatMap((p) => Object.values(p.containerIds));
        const userImages = Object.fromEntries(pods.flatMap((p) => p.spec.containers.map((c) => [p.containerIds[c.name]!, c.image])));
        const real = await criFields((service, method, req) => bed.kubelet.raw(service, method, req), ids);
        expect(real.version.runtimeVersion).toBe(RELEASES[rel].version);
        const fake = await fakeWorld(new FakeCri(), real, RELEASES[rel].version as EmulatedRelease, userImages).start();
        const raw = rawCri(fake.endpoint);
        try {
          const emulated = await criFields(raw.call, ids);
          expect(emulated.images).toEqual(real.images);
          expect(emulated.containers).toEqual(real.containers);
          expect(emulated.statuses).toEqual(real.statuses);
          expect({ ...emulated.version, runtimeVersion: undefined }).toEqual({ ...real.version, runtimeVersion: undefined });
          expect(emulated.version.runtimeVersion).toBe(real.version.runtimeVersion);
        } finally {
          raw.close();
          await fake.stop();
        }
      });
    });

    describe('the CRI client and a real containerd restart', () => {
      it('answers again within seconds after containerd is killed and restarted, without a new client', async () => {
        const client = createCriClient({ endpoint: bed.containerd.endpoint, timeoutMs: 1000 });
        try {
          expect((await client.version()).apiVersion).toBe('v1');
          await bed.containerd.kill();
          const down = await client.version().then(() => undefined, (e: { kind?: string }) => e.kind);
          expect(down).toMatch(/unavailable|socket-missing|timeout/);
          await bed.containerd.restart();
          await waitFor('the client to see the running container again', () => client.listContainers().then((c) => c.some((x) => x.id === webPod.containerIds['web']), () => false), 10_000);
        } finally {
          client.close();
        }
      });
    });

    runtimeClientConformance('real containerd', async () => {
      const client = createCriClient({ endpoint: bed.containerd.endpoint, timeoutMs: 5000 });
      return {
        client,
        tagRef: apiImage.ref,
        manifestDigest: apiImage.manifestDigest,
        imageId: apiImage.imageId,
        version: '4.2.0',
        container: { id: apiPod.containerIds['api']!, name: 'api', podName: 'api-0', podNamespace: 'shop', userSpecifiedImage: apiImage.ref },
        teardown: async () => client.close(),
      };
    });
  });
}
