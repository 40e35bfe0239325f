/**
 * Findings about the scan's own sources: the runtime could not be asked
 * (runtime-unavailable), or pod intent could not be read (pod-intent-unavailable).
 */
import type { Finding } from '../domain/report.js';
import type { RuntimeErrorKind } from '../domain/snapshot.js';
import type { CheckContext } from './types.js';
import { runtimeKind } from '../domain/runtime-kind.js';

const RUNTIME_FIX: Record<RuntimeErrorKind, string> = {
  'socket-missing':
    'Check that containerd runs on this node and that --runtime-endpoint (TAGDRIFT_RUNTIME_ENDPOINT) names its socket; in the DaemonSet, that the hostPath mount points at it.',
  'permission-denied':
    'The socket is not readable by this process: run as a user that may open it (usually root), or mount it with matching permissions.',
  'not-cri-v1':
    'The endpoint does not serve CRI runtime.v1: enable the CRI plugin (it must not be in disabled_plugins; check containerd logs for "failed to load plugin") or point at the right socket.',
  timeout: 'The runtime did not answer within the deadline; check containerd health (ctr version, its logs) and node load.',
  unavailable: 'The socket exists but nothing answers on it: containerd is restarting or has crashed; check its logs.',
  error: 'Check containerd logs; run with --log-level debug for the gRPC status.',
};

export function checkRuntimeUnavailable(ctx: CheckContext): Finding[] {
  const s = ctx.snapshot;
  const failed = [s.runtime, s.images, s.containers].find((o) => !o.ok);
  if (!failed || failed.ok) return [];
  const kind = failed.error.kind as RuntimeErrorKind;
  return [
    {
      code: 'runtime-unavailable',
      severity: 'critical',
      message: `Container runtime not usable (${kind}): ${failed.error.message}. Nothing on this node was verified.`,
      image: undefined,
      containers: [],
      evidence: { reason: kind, detail: failed.error.message },
      remediation: RUNTIME_FIX[kind] ?? RUNTIME_FIX.error,
    },
  ];
}

export function checkPodIntentUnavailable(ctx: CheckContext): Finding[] {
  const pods = ctx.snapshot.pods;
  if (pods.ok) return [];
  return [
    {
      code: 'pod-intent-unavailable',
      severity: 'info',
      message:
        `Pods of node ${ctx.snapshot.node || '(unknown)'} were not read from the Kubernetes API (${pods.error.kind}: ${pods.error.message}); ` +
        'the image each pod asked for and its pull policy are unknown, so tag checks used CRI evidence only.',
      image: undefined,
      containers: [],
      evidence: { reason: pods.error.kind },
      remediation:
        pods.error.kind === 'not-configured'
          ? 'Pass --kubeconfig (or run in-cluster) and --node-name / NODE_NAME.'
          : 'Check the service account can list pods (ClusterRole in deploy/) and that the API server is reachable.',
    },
  ];
}

/** A node name that matches no pod while the runtime runs pods: a blind scan, said as such. */
export function checkNodeNameMismatch(ctx: CheckContext): Finding[] {
  const elsewhere = ctx.snapshot.podsElsewhere;
  if (!elsewhere || elsewhere.length === 0) return [];
  const nodes = [...new Set(elsewhere.map((p) => p.node).filter((n): n is string => n !== undefined))];
  const node = ctx.snapshot.node || '(unknown)';
  return [{
    code: 'node-name-mismatch',
    severity: 'critical',
    message:
      `The Kubernetes API lists no pod on node "${node}", but this node's runtime runs pods (${elsewhere.map((p) => `${p.namespace}/${p.name}`).join(', ')}), ` +
      (nodes.length > 0 ? `which the API places on ${nodes.map((n) => `"${n}"`).join(', ')}` : 'which the API does not place anywhere it could read') +
      ': the node name is wrong, so what each pod asked for was not checked and this report is not clean.',
    image: undefined,
    containers: elsewhere.map((p) => ({ namespace: p.namespace, pod: p.name, container: '*' })),
    evidence: { nodeName: node, pods: elsewhere, ...(nodes.length > 0 ? { apiNodes: nodes } : {}) },
    remediation: nodes.length === 1
      ? `Use the Kubernetes node name: --node-name ${nodes[0]} (in a pod, NODE_NAME from the downward API's spec.nodeName, as deploy/ sets it).`
      : 'Use the Kubernetes node name (kubectl get nodes -o wide): --node-name, or NODE_NAME from the downward API\'s spec.nodeName.',
  }];
}

/** Pods listed but not read (an object over tagdrift's answer cap): named, never silently dropped. */
export function checkPodUnread(ctx: CheckContext): Finding[] {
  const pods = ctx.snapshot.pods;
  if (!pods.ok) return [];
  return pods.value.filter((p) => p.unread !== undefined).map((p) => ({
    code: 'pod-unread' as const,
    severity: 'warning' as const,
    message: `Pod ${p.name} on node ${ctx.snapshot.node || '(unknown)'} was listed but not read: ${p.unread}. Its containers are judged from runtime evidence only (the tag each asked for is not known); every other pod of the node was read.`,
    image: undefined,
    containers: [{ namespace: undefined, pod: p.name, container: '*' }],
    evidence: { pod: p.name, reason: p.unread },
    remediation: 'Look for what makes this pod object so large (annotations, often written by a tool, up to 256 KiB each; managed fields): kubectl get pods -A --field-selector metadata.name=' + p.name + ' -o json | wc -c',
  }));
}

/** A runtime tagdrift does not know how to read the configuration of: said once, clearly. */
export function checkRuntimeUnsupported(ctx: CheckContext): Finding[] {
  const rt = ctx.snapshot.runtime;
  if (!rt.ok || runtimeKind(rt.value.name) !== 'other') return [];
  return [{
    code: 'runtime-unsupported',
    severity: 'warning',
    message: `The container runtime is ${rt.value.name} ${rt.value.version}: tagdrift reads the registry configuration of containerd and CRI-O only, so this node's mirrors are not analysed; its containers are still checked against the registries themselves.`,
    image: undefined,
    containers: [],
    evidence: { runtime: rt.value.name, version: rt.value.version },
    remediation: 'Nothing to fix on the node; findings that depend on mirrors are not made here.',
  }];
}
