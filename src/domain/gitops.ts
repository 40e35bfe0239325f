/**
 * Who keeps a workload in sync with a Git repository, from the marks the GitOps controllers put
 * on the objects they apply: Argo CD's tracking annotation (`argocd.argoproj.io/tracking-id`,
 * `<app>:<group>/<kind>:<namespace>/<name>`) or its instance label, Flux's kustomize-controller
 * and helm-controller labels. A fix that edits such a workload in the cluster (`kubectl set
 * image`) is undone at the next sync; the fix belongs in the source the controller syncs.
 */
import { shellWord } from './shell.js';

export type WorkloadManager =
  | { readonly tool: 'argocd'; readonly app: string }
  | { readonly tool: 'flux'; readonly kind: 'Kustomization' | 'HelmRelease'; readonly name: string; readonly namespace: string };

const NAME = /^[a-z0-9]([-a-z0-9._]{0,251}[a-z0-9])?$/;

export function managerFromMetadata(meta: { labels?: Record<string, unknown>; annotations?: Record<string, unknown> } | undefined): WorkloadManager | undefined {
  const label = (k: string) => (typeof meta?.labels?.[k] === 'string' ? (meta.labels[k] as string) : undefined);
  const tracking = meta?.annotations?.['argocd.argoproj.io/tracking-id'];
  const argoApp = typeof tracking === 'string' ? tracking.split(':')[0] : label('argocd.argoproj.io/instance');
  if (argoApp && NAME.test(argoApp)) return { tool: 'argocd', app: argoApp };
  for (const [prefix, kind] of [['kustomize.toolkit.fluxcd.io', 'Kustomization'], ['helm.toolkit.fluxcd.io', 'HelmRelease']] as const) {
    const name = label(`${prefix}/name`);
    const namespace = label(`${prefix}/namespace`);
    if (name && namespace && NAME.test(name) && NAME.test(namespace)) return { tool: 'flux', kind, name, namespace };
  }
  return undefined;
}

/** The fix for a GitOps-managed workload: pin the digest in the source, then have the controller sync it. */
export function gitOpsFix(m: WorkloadManager, workload: string, image: string, digest: string): string[] {
  const pin = `Pin ${image}@${digest} in the source it syncs (a manifest's image:, kustomize images: [{name: ${image}, digest: ${digest}}], or the chart's image digest value) and commit; kubectl set image would be reverted at the next sync.`;
  if (m.tool === 'argocd') {
    return [`${workload} is synced by Argo CD application ${m.app}. ${pin}`, `argocd app sync ${shellWord(m.app)}`];
  }
  const what = m.kind === 'Kustomization' ? 'kustomization' : 'helmrelease';
  return [`${workload} is applied by Flux ${m.kind} ${m.namespace}/${m.name}. ${pin}`, `flux reconcile ${what} ${shellWord(m.name)} -n ${shellWord(m.namespace)} --with-source`];
}
