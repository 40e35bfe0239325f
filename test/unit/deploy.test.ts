/**
 * deploy/ rendered the way `kubectl apply -k deploy/` would see it (resources, the
 * namespace transform, the image override), and the properties the reliability bar
 * asks of a node agent asserted on the result.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PriorityClass']);

function render(): Obj[] {
  const base = new URL('../../deploy/', import.meta.url);
  const k = yaml.load(readFileSync(new URL('kustomization.yaml', base), 'utf8')) as { namespace: string; resources: string[]; images?: { name: string; newName?: string; newTag?: string }[] };
  const objs = k.resources.flatMap((f) => yaml.loadAll(readFileSync(new URL(f, base), 'utf8')) as Obj[]).filter(Boolean);
  for (const o of objs) {
    if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    if (o.kind === 'ClusterRoleBinding') for (const s of o['subjects']) s.namespace = k.namespace;
    for (const c of o['spec']?.template?.spec?.containers ?? []) {
      const img = k.images?.find((i) => i.name === c.image);
      if (img) c.image = `${img.newName ?? img.name}:${img.newTag ?? 'latest'}`;
    }
  }
  return objs;
}

const objs = render();
const find = (kind: string) => objs.filter((o) => o.kind === kind);
const ds = find('DaemonSet')[0]!;
const pod = ds['spec'].template.spec;
const agent = pod.containers[0];

describe('deploy/ (kustomize base)', () => {
  it('has every object the install needs', () => {
    for (const kind of ['Namespace', 'ServiceAccount', 'ClusterRoleBinding', 'DaemonSet', 'Service', 'ServiceMonitor', 'PrometheusRule', 'NetworkPolicy', 'PriorityClass', 'Role']) {
      expect(find(kind), kind).toHaveLength(1);
    }
    expect(find('ClusterRole')).toHaveLength(2);
    expect(find('Namespace')[0]!.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'baseline' });
  });

  it("the cluster command's roles: list pods and get pods/proxy in the namespace, list nodes; no bindings shipped", () => {
    expect(find('Role')[0]!['rules']).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
    ]);
    expect(find('Role')[0]!.metadata.namespace).toBe('tagdrift');
    expect(find('ClusterRole').find((r) => r.metadata.name === 'tagdrift-node-lister')!['rules']).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }]);
    expect(find('RoleBinding')).toEqual([]);
  });

  it('RBAC: the agent may get/list pods and nothing else (no secrets, no writes)', () => {
    const role = find('ClusterRole').find((r) => r.metadata.name === 'tagdrift-read-pods')!;
    expect(role['rules']).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);
    const binding = find('ClusterRoleBinding')[0]!;
    expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'tagdrift' }]);
    expect(binding['roleRef'].name).toBe(role.metadata.name);
  });

  it('the DaemonSet is hardened: no host namespaces, no privilege, read-only root, drop ALL, RuntimeDefault seccomp', () => {
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
    expect(pod.hostIPC ?? false).toBe(false);
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(agent.securityContext).toEqual({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.containers).toHaveLength(1);
    expect(pod.initContainers).toBeUndefined();
  });

  it('hostPath mounts: only the runtime socket and /etc/containerd, read-only and typed', () => {
    const hostPaths = pod.volumes.filter((v: any) => v.hostPath);
    expect(hostPaths.map((v: any) => [v.hostPath.path, v.hostPath.type])).toEqual([
      ['/run/containerd/containerd.sock', 'Socket'],
      ['/etc/containerd', 'Directory'],
    ]);
    for (const v of hostPaths) {
      const mount = agent.volumeMounts.find((m: any) => m.name === v.name);
      expect(mount.readOnly, v.name).toBe(true);
    }
  });

  it('probes, resources, tolerations, priority class, NODE_NAME from the downward API, the agent command', () => {
    expect(agent.livenessProbe.httpGet.path).toBe('/healthz');
    expect(agent.readinessProbe.httpGet.path).toBe('/readyz');
    expect(agent.resources.requests.cpu).toBeDefined();
    expect(agent.resources.requests.memory).toBeDefined();
    expect(agent.resources.limits.memory).toBeDefined();
    expect(pod.tolerations).toContainEqual({ operator: 'Exists' });
    expect(find('PriorityClass')[0]!.metadata.name).toBe(pod.priorityClassName);
    expect(agent.env.find((e: any) => e.name === 'NODE_NAME').valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(agent.env.find((e: any) => e.name === 'TAGDRIFT_HOST_ROOT').value).toBe('/host');
    expect(agent.args).toEqual(['agent']);
    expect(agent.image).toBe('ghcr.io/tagdrift/tagdrift:0.1.0');
  });

  it('the Service, ServiceMonitor and NetworkPolicy select the agent pods and its port', () => {
    const labels = ds['spec'].template.metadata.labels;
    const svc = find('Service')[0]!;
    for (const [k, v] of Object.entries(svc['spec'].selector)) expect(labels[k]).toBe(v);
    expect(svc['spec'].ports[0].targetPort).toBe(agent.ports[0].name);
    const sm = find('ServiceMonitor')[0]!;
    for (const [k, v] of Object.entries(sm['spec'].selector.matchLabels)) expect(svc.metadata.labels![k]).toBe(v);
    expect(sm['spec'].endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
    const np = find('NetworkPolicy')[0]!;
    for (const [k, v] of Object.entries(np['spec'].podSelector.matchLabels)) expect(labels[k]).toBe(v);
    expect(np['spec'].ingress).toEqual([{ ports: [{ port: 9420, protocol: 'TCP' }] }]);
  });

  it('the agent listens where the probes and the Service look', () => {
    expect(agent.env.find((e: any) => e.name === 'TAGDRIFT_LISTEN').value).toBe(`0.0.0.0:${agent.ports[0].containerPort}`);
  });
});
