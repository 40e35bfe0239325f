/**
 * Fixes that survive GitOps, on the real node: three Deployments whose pods run a tag that was
 * re-pushed (running-stale on a real containerd), one synced by Argo CD (its tracking
 * annotation), one applied by a Flux Kustomization (its labels), one unmanaged. The fix for
 * the managed ones pins the digest in the source and syncs the controller (kubectl set image
 * would be reverted at the next sync); the unmanaged one gets kubectl set image. The workloads'
 * metadata comes from the bed's fake Kubernetes API (there is no API server on the test machines).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/domain/report.js';
import { TestBed } from '../../testbed/bed.js';
import { runCli } from '../helpers/cli.js';

let bed: TestBed;
const moved: Record<string, string> = {};

beforeAll(async () => {
  bed = await TestBed.start({ nodeName: 'node-gitops' });
  for (const app of ['argo', 'flux', 'plain']) {
    const v1 = await bed.publish(`shop/${app}`, '1', { version: '1.0.0' });
    const hash = `${app}5d8f9c`.slice(0, 10).replace(/[^a-z0-9]/g, 'x');
    await bed.kubelet.runPod({
      namespace: 'shop', name: `${app}-${hash}-abcde`, owner: { kind: 'ReplicaSet', name: `${app}-${hash}`, templateHash: hash },
      containers: [{ name: app, image: v1.ref, imagePullPolicy: 'IfNotPresent' }],
    });
    moved[app] = (await bed.publish(`shop/${app}`, '1', { version: '1.0.1' })).manifestDigest;
  }
  bed.kube.upsertWorkload('shop', 'Deployment', 'argo', { annotations: { 'argocd.argoproj.io/tracking-id': 'shop-prod:apps/Deployment:shop/argo' } });
  bed.kube.upsertWorkload('shop', 'Deployment', 'flux', { labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } });
  bed.kube.upsertWorkload('shop', 'Deployment', 'plain', {});
}, 180_000);

afterAll(async () => {
  await bed?.stop();
});

describe('the fix follows who owns the workload', () => {
  it('Argo CD: pin in the source and sync the application; Flux: pin and reconcile; unmanaged: kubectl set image', async () => {
    const res = await runCli(['scan', ...bed.scanArgs(), '-o', 'json']);
    const report = JSON.parse(res.stdout) as Report;
    const fix = (app: string) => report.findings.find((f) => f.code === 'running-stale' && f.image === `${bed.upstream.host}/shop/${app}:1`)?.remediation ?? '';
    expect(fix('argo'), JSON.stringify(report.findings.map((f) => [f.code, f.image]))).toContain('Deployment shop/argo is synced by Argo CD application shop-prod');
    expect(fix('argo')).toContain(`${bed.upstream.host}/shop/argo@${moved['argo']}`);
    expect(fix('argo').split('\n')).toContain('argocd app sync shop-prod');
    expect(fix('argo')).not.toContain('kubectl -n shop set image');
    expect(fix('flux')).toContain('Deployment shop/flux is applied by Flux Kustomization flux-system/apps');
    expect(fix('flux').split('\n')).toContain('flux reconcile kustomization apps -n flux-system --with-source');
    expect(fix('flux')).not.toContain('kubectl -n shop set image');
    expect(fix('plain')).toContain('A plain restart will not help: with imagePullPolicy IfNotPresent');
    expect(fix('plain')).toContain(`kubectl -n shop set image deployment/plain plain=${bed.upstream.host}/shop/plain@${moved['plain']}`);
  });
});
