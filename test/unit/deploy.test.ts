/**
 * deploy/ rendered by `kubectl kustomize` (what `kubectl apply -k deploy/` applies), and
 * the rendered objects checked against the rules their consumers apply: the Pod Security
 * Standards for the namespace's admission level, NetworkPolicy semantics for what the
 * agent can reach, and the reliability bar for a node agent.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { admits, strictestLevel, violations, type Level } from '../helpers/pod-security.js';
import { egressAllows } from '../helpers/network-policy.js';
import { kustomize, overlay, ROOT, type Obj } from '../helpers/kustomize.js';

function render(): Obj[] {
  return kustomize(join(ROOT, 'deploy'));
}

const objs = render();
const find = (kind: string) => objs.filter((o) => o.kind === kind);
const ds = find('DaemonSet')[0]!;
const pod = ds['spec'].template.spec;
const agent = pod.containers[0];

describe('deploy/ (kustomize base)', () => {
  it('has every object the install needs', () => {
    for (const kind of ['Namespace', 'DaemonSet', 'Service', 'NetworkPolicy', 'PriorityClass']) {
      expect(find(kind), kind).toHaveLength(1);
    }
    expect(find('ServiceAccount').map((o) => o.metadata.name).sort()).toEqual(['tagdrift', 'tagdrift-reader']);
    expect(find('ClusterRole').map((o) => o.metadata.name).sort()).toEqual(['tagdrift-node-lister', 'tagdrift-read-pods']);
    expect(find('ClusterRoleBinding').map((o) => o.metadata.name).sort()).toEqual(['tagdrift-auth-delegator', 'tagdrift-read-pods']);
    expect(find('Role').map((o) => o.metadata.name).sort()).toEqual(['tagdrift-agent-reader', 'tagdrift-cluster-reader']);
  });

  it("the cluster command's role: list pods, get pods/proxy, a token of tagdrift-reader only; list nodes; no binding to people shipped", () => {
    const role = find('Role').find((r) => r.metadata.name === 'tagdrift-cluster-reader')!;
    expect(role['rules']).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
      { apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: ['tagdrift-reader'], verbs: ['create'] },
    ]);
    expect(role.metadata.namespace).toBe('tagdrift');
    expect(find('ClusterRole').find((r) => r.metadata.name === 'tagdrift-node-lister')!['rules']).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }]);
    // The only RoleBinding is tagdrift-reader's own read access to the agents.
    expect(find('RoleBinding').map((b) => [b.metadata.name, b['subjects']])).toEqual([['tagdrift-agent-reader', [{ kind: 'ServiceAccount', name: 'tagdrift-reader', namespace: 'tagdrift' }]]]);
  });

  it('RBAC: the agent may get/list pods and check tokens (auth-delegator), nothing else (no secrets, no writes)', () => {
    const role = find('ClusterRole').find((r) => r.metadata.name === 'tagdrift-read-pods')!;
    expect(role['rules']).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['get'] },
    ]);
    const agentSubject = [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: 'tagdrift' }];
    const bindings = find('ClusterRoleBinding').filter((b) => JSON.stringify(b['subjects']) === JSON.stringify(agentSubject));
    expect(bindings.map((b) => b['roleRef'].name).sort()).toEqual(['system:auth-delegator', 'tagdrift-read-pods']);
    const reader = find('Role').find((r) => r.metadata.name === 'tagdrift-agent-reader')!;
    expect(reader['rules']).toEqual([{ apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] }]);
    expect(find('ServiceAccount').find((s) => s.metadata.name === 'tagdrift-reader')!['automountServiceAccountToken']).toBe(false);
  });

  it('the agent knows its own pod for the SubjectAccessReview (downward API)', () => {
    expect(agent.env.find((e: any) => e.name === 'POD_NAME').valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(agent.env.find((e: any) => e.name === 'POD_NAMESPACE').valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
  });

  it("the namespace's Pod Security labels admit the agent pod, without warnings or audit entries", () => {
    const labels = find('Namespace')[0]!.metadata.labels!;
    const podLevel = strictestLevel(pod);
    for (const mode of ['enforce', 'warn', 'audit']) {
      const level = labels[`pod-security.kubernetes.io/${mode}`] as Level | undefined;
      if (mode === 'enforce') expect(level, 'an explicit enforce level').toBeDefined();
      if (level) expect(admits(level, podLevel), `${mode}=${level} vs a ${podLevel} pod`).toBe(true);
    }
  });

  it('the only control the pod needs beyond baseline is its hostPath volumes', () => {
    const v = violations(pod);
    expect(v.baseline).toEqual(['hostPath volumes (containerd-run)', 'hostPath volumes (containerd-config)']);
    expect(strictestLevel({ ...pod, volumes: pod.volumes.filter((x: any) => !x.hostPath) })).toBe('baseline');
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

  it("hostPath mounts: only the runtime socket's directory and /etc/containerd, read-only and typed", () => {
    const hostPaths = pod.volumes.filter((v: any) => v.hostPath);
    expect(hostPaths.map((v: any) => [v.hostPath.path, v.hostPath.type])).toEqual([
      ['/run/containerd', 'Directory'],
      ['/etc/containerd', 'Directory'],
    ]);
    for (const v of hostPaths) {
      const mount = agent.volumeMounts.find((m: any) => m.name === v.name);
      expect(mount.readOnly, v.name).toBe(true);
    }
    // The endpoint lies inside the mounted directory, so a recreated socket is seen.
    const endpoint = agent.env.find((e: any) => e.name === 'TAGDRIFT_RUNTIME_ENDPOINT').value.replace(/^unix:\/\//, '');
    const sockMount = agent.volumeMounts.find((m: any) => m.name === 'containerd-run');
    expect(endpoint.startsWith(`${sockMount.mountPath}/`)).toBe(true);
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
    const sm = overlay('resources: [../../deploy]\ncomponents: [../../deploy/components/monitoring]\n').find((o) => o.kind === 'ServiceMonitor' && o.metadata.name === 'tagdrift')!;
    for (const [k, v] of Object.entries(sm['spec'].selector.matchLabels)) expect(svc.metadata.labels![k]).toBe(v);
    expect(sm['spec'].endpoints[0]).toMatchObject({ port: 'http', path: '/metrics' });
    const np = find('NetworkPolicy')[0]!;
    for (const [k, v] of Object.entries(np['spec'].podSelector.matchLabels)) expect(labels[k]).toBe(v);
    expect(np['spec'].ingress).toEqual([{ ports: [{ port: 9420, protocol: 'TCP' }] }]);
  });

  it('the agent listens where the probes and the Service look', () => {
    expect(agent.env.find((e: any) => e.name === 'TAGDRIFT_LISTEN').value).toBe(`0.0.0.0:${agent.ports[0].containerPort}`);
  });

  it('NetworkPolicy: by default registries and mirrors on any port and the API are reachable, cloud metadata is not', () => {
    const np = find('NetworkPolicy')[0]!;
    for (const [ip, port] of [['203.0.113.10', 443], ['10.0.0.5', 5000], ['10.0.0.5', 8443], ['127.0.0.1', 30020], ['10.96.0.1', 443], ['192.0.2.1', 6443], ['2001:db8::1', 443]] as const) {
      expect(egressAllows(np, ip, port), `${ip}:${port}`).toBe(true);
    }
    expect(egressAllows(np, '169.254.169.254', 80)).toBe(false);
    expect(egressAllows(np, 'fd00:ec2::254', 80)).toBe(false);
    expect(egressAllows(np, '10.96.0.10', 53, 'UDP')).toBe(true);
  });

  it('NetworkPolicy knob: the egress-ports component keeps only the listed ports', () => {
    const tight = overlay('resources: [../../deploy]\ncomponents: [../../deploy/components/egress-ports]\n').find((o) => o.kind === 'NetworkPolicy')!;
    expect(egressAllows(tight, '203.0.113.10', 443)).toBe(true);
    expect(egressAllows(tight, '10.0.0.5', 5000)).toBe(true);
    expect(egressAllows(tight, '10.0.0.5', 8443)).toBe(false);
    expect(egressAllows(tight, '169.254.169.254', 443)).toBe(false);
    expect(egressAllows(tight, '10.96.0.10', 53, 'UDP')).toBe(true);
  });
});

describe('the Pod Security evaluator follows the documented controls', () => {
  const base = { containers: [{ name: 'c', securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } } }], volumes: [{ name: 'v', emptyDir: {} }] };
  it('a pod meeting every restricted control is restricted', () => expect(strictestLevel(base)).toBe('restricted'));
  it('hostPath, host namespaces, privileged, hostPort or an extra capability make it privileged-only', () => {
    expect(strictestLevel({ ...base, volumes: [{ name: 'h', hostPath: { path: '/' } }] })).toBe('privileged');
    expect(strictestLevel({ ...base, hostNetwork: true })).toBe('privileged');
    expect(strictestLevel({ ...base, containers: [{ name: 'c', securityContext: { privileged: true } }] })).toBe('privileged');
    expect(strictestLevel({ ...base, containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 80 }] }] })).toBe('privileged');
    expect(strictestLevel({ ...base, containers: [{ name: 'c', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }] })).toBe('privileged');
  });
  it('root, privilege escalation, missing drop ALL or unset seccomp make it baseline', () => {
    expect(strictestLevel({ ...base, securityContext: { runAsUser: 0 } })).toBe('baseline');
    expect(strictestLevel({ ...base, containers: [{ name: 'c' }] })).toBe('baseline');
    expect(strictestLevel({ ...base, volumes: [{ name: 'n', nfs: { server: 'x', path: '/' } }] })).toBe('baseline');
  });
  it('levels order: privileged admits all, restricted admits only restricted', () => {
    expect(admits('privileged', 'privileged')).toBe(true);
    expect(admits('baseline', 'privileged')).toBe(false);
    expect(admits('restricted', 'baseline')).toBe(false);
    expect(admits('baseline', 'restricted')).toBe(true);
  });
});

describe("the README's overlay, with every component", () => {
  // The overlay exactly as the README writes it (between its install-agent markers), the
  // registry placeholder filled in, rendered with each component as a user would add it.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf('<!-- install-agent -->'), readme.indexOf('<!-- /install-agent -->'));
  const body = /cat > overlay\/kustomization\.yaml <<'YAML'\n([\s\S]*?)\nYAML/.exec(block)![1]!.replaceAll('<your-registry>', 'registry.example.com/team').replace('resources: [../deploy]', 'resources: [../../deploy]');
  const components = readdirSync(join(ROOT, 'deploy', 'components'));
  const images = (objs: Obj[]) => objs
    .filter((o) => ['DaemonSet', 'Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind))
    .flatMap((o) => [...(o['spec'].template?.spec.containers ?? []), ...(o['spec'].template?.spec.initContainers ?? [])].map((c: { image: string }) => `${o.kind}/${o.metadata.name}: ${c.image}`));

  it.each(components)('with %s: every workload runs the image the overlay names', (component) => {
    const rendered = overlay(`${body}\ncomponents: [../../deploy/components/${component}]\n`);
    const all = images(rendered);
    expect(all.length).toBeGreaterThan(0);
    for (const line of all) expect(line).toMatch(/: registry\.example\.com\/team\/tagdrift:0\.1\.0$/);
  });

  it('every workload runs on Linux nodes only', () => {
    const rendered = overlay(`${body}\ncomponents: [../../deploy/components/resolver]\n`);
    for (const o of rendered.filter((x) => ['DaemonSet', 'Deployment'].includes(x.kind))) {
      expect(o['spec'].template.spec.nodeSelector, o.metadata.name).toMatchObject({ 'kubernetes.io/os': 'linux' });
    }
  });
});

describe('scheduling and admission', () => {
  it('the PriorityClass orders the agent ahead of ordinary pods but never preempts one (preemptionPolicy: Never)', () => {
    const pc = find('PriorityClass')[0]!;
    expect(pc['preemptionPolicy']).toBe('Never');
    expect(pc['value']).toBeLessThan(1_000_000_000); // below system-cluster-critical
  });

  it('the namespace sets warn and audit explicitly, so a cluster-wide default does not warn on every apply; the pod needs privileged only for hostPath', () => {
    const ns = find('Namespace')[0]!;
    expect(ns.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/warn': 'privileged', 'pod-security.kubernetes.io/audit': 'privileged' });
    const v = violations(pod).baseline;
    expect(v.length).toBeGreaterThan(0);
    for (const x of v) expect(x).toMatch(/hostPath/i);
  });
});

describe('monitoring objects', () => {
  it('the base needs no CRD: every kind it renders is built into Kubernetes', () => {
    const builtIn = new Set(['v1', 'apps/v1', 'rbac.authorization.k8s.io/v1', 'networking.k8s.io/v1', 'policy/v1', 'scheduling.k8s.io/v1']);
    for (const o of objs) expect(builtIn.has(o.apiVersion), `${o.kind} ${o.apiVersion}`).toBe(true);
  });

  it("components/monitoring adds the ServiceMonitors and the PrometheusRule, labelled for kube-prometheus-stack's default selectors", () => {
    const rendered = overlay('resources: [../../deploy]\ncomponents: [../../deploy/components/monitoring]\n');
    const mon = rendered.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/'));
    expect(mon.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(['PrometheusRule/tagdrift', 'ServiceMonitor/tagdrift', 'ServiceMonitor/tagdrift-resolver']);
    for (const o of mon) expect(o.metadata.labels, o.metadata.name).toMatchObject({ release: 'kube-prometheus-stack' });
    // The README's patch for another release name works as written.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const patch = /```yaml\n {2}(patches:\n[\s\S]*?)\n {2}```/.exec(readme.slice(readme.indexOf('**Monitoring (opt-in).**')))![1]!;
    const renamed = overlay(`resources: [../../deploy]\ncomponents: [../../deploy/components/monitoring]\n${patch.replace(/^  /gm, '')}`);
    for (const o of renamed.filter((x) => x.apiVersion.startsWith('monitoring.coreos.com/'))) expect(o.metadata.labels!['release']).toBe('my-release');
  });
});

describe("the README's notification patch", () => {
  it('sets TAGDRIFT_NOTIFY (by name, after kustomize applies it) and admits the registry, leaving the rest of the resolver as it was', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### From push to finding in seconds'));
    const patch = /```yaml\n( {3}patches:[\s\S]*?) {3}```/.exec(section)![1]!.replace(/^ {3}/gm, '');
    const base = overlay('resources: [../../deploy]\ncomponents: [../../deploy/components/resolver]\n');
    const patched = overlay(`resources: [../../deploy]\ncomponents: [../../deploy/components/resolver]\n${patch}`);
    const env = (objs: Obj[]) => (objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tagdrift-resolver')!['spec'].template.spec.containers[0].env as { name: string; value: string }[]);
    expect(env(base).find((e) => e.name === 'TAGDRIFT_NOTIFY')!.value).toBe('');
    expect(env(patched).find((e) => e.name === 'TAGDRIFT_NOTIFY')!.value).toBe('https://registry.example.com=/etc/tagdrift/notify/registry');
    expect(env(patched).filter((e) => e.name !== 'TAGDRIFT_NOTIFY')).toEqual(env(base).filter((e) => e.name !== 'TAGDRIFT_NOTIFY'));
    const policy = (objs: Obj[]) => objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'tagdrift-resolver')!['spec'].ingress as unknown[];
    expect(policy(patched).length).toBe(policy(base).length + 1);
    // The secret it names is where the component mounts the optional Secret.
    const d = base.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tagdrift-resolver')!['spec'].template.spec;
    expect(d.containers[0].volumeMounts).toContainEqual({ name: 'notify', mountPath: '/etc/tagdrift/notify', readOnly: true });
    expect(d.volumes).toContainEqual({ name: 'notify', secret: { secretName: 'tagdrift-notify', optional: true, defaultMode: 0o440 } });
  });
});
