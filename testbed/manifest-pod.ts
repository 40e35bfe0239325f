/**
 * A rendered workload's pod template turned into the CRI requests kubelet would send for
 * it (RunPodSandbox, then CreateContainer per container), following kubelet's
 * kuberuntime: effective security context (pod values, container overrides), no_new_privs
 * from allowPrivilegeEscalation: false, default masked and read-only /proc paths, env with
 * the downward API and the `kubernetes` service variables, hostPath volumes checked against
 * their `type`, emptyDir volumes, the service account token volume, command/args, ports.
 *
 * What the bed cannot do is said, not faked: it has no CNI, so the sandbox shares the
 * node's network namespace (the pod's port is reached on the node's loopback); containerd
 * runs with cgroups and AppArmor disabled, so resource limits are not applied; an emptyDir
 * of medium Memory is a plain directory; kubelet's managed /etc/hosts and termination-log
 * mounts are left out. Anything else the translator does not know fails loudly.
 */
import { existsSync, lstatSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Any = Record<string, any>;

/** kubelet's defaults (pkg/securitycontext/util.go, DefaultProcMount). */
export const DEFAULT_MASKED_PATHS = ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
export const DEFAULT_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface PodContext {
  readonly nodeName: string;
  readonly podName: string;
  readonly uid: string;
  /** Where the bed keeps a node path named by a hostPath volume. */
  readonly hostPath: (nodePath: string) => string;
  /** A directory for the pod's own volumes (emptyDir, the service account token). */
  readonly podDir: string;
  readonly logDirectory: string;
  readonly serviceAccount: { readonly token: string; readonly caCert: string };
  readonly kubernetesService: { readonly host: string; readonly port: number };
}

export interface TranslatedContainer {
  readonly name: string;
  readonly image: string;
  readonly imagePullPolicy: string;
  /** CreateContainer's config without `image` (kubelet fills in the pulled image's ID). */
  readonly config: Any;
  readonly ports: Record<string, number>;
  readonly readinessPath: string | undefined;
  readonly livenessPath: string | undefined;
  /** The probes' ports as kubelet resolves them (a port name looked up among the container's ports). */
  readonly readinessPort: number | undefined;
  readonly livenessPort: number | undefined;
}

export interface TranslatedPod {
  readonly namespace: string;
  readonly sandboxConfig: Any;
  readonly containers: TranslatedContainer[];
  readonly terminationGracePeriodSeconds: number;
}

const profile = (sc: Any | undefined): Any | undefined => {
  const t = sc?.['seccompProfile']?.['type'];
  if (!t) return undefined;
  if (t === 'Localhost') return { profileType: 'Localhost', localhostRef: sc!['seccompProfile']['localhostProfile'] };
  return { profileType: t };
};

function fieldRef(path: string, ctx: PodContext, namespace: string): string {
  switch (path) {
    case 'spec.nodeName': return ctx.nodeName;
    case 'metadata.name': return ctx.podName;
    case 'metadata.namespace': return namespace;
    case 'metadata.uid': return ctx.uid;
    // The bed's node address: its loopback (no CNI, the node's network).
    case 'status.hostIP': return '127.0.0.1';
    default: throw new Error(`manifest-pod: downward API field ${path} is not translated`);
  }
}

function checkHostPath(path: string, type: string | undefined, nodePath: string): void {
  const exists = existsSync(path);
  switch (type ?? '') {
    case '':
      return;
    case 'Directory':
      if (!exists || !statSync(path).isDirectory()) throw new Error(`hostPath type check failed: ${nodePath} is not a directory`);
      return;
    case 'Socket':
      if (!exists || !lstatSync(path).isSocket()) throw new Error(`hostPath type check failed: ${nodePath} is not a socket`);
      return;
    case 'File':
      if (!exists || !statSync(path).isFile()) throw new Error(`hostPath type check failed: ${nodePath} is not a file`);
      return;
    case 'DirectoryOrCreate':
      mkdirSync(path, { recursive: true });
      return;
    default:
      throw new Error(`manifest-pod: hostPath type ${type} is not translated`);
  }
}

/** The CRI requests for one pod of `template` (a Deployment's or DaemonSet's spec.template). */
export function translatePod(template: Any, namespace: string, ctx: PodContext): TranslatedPod {
  const spec: Any = template['spec'];
  const psc: Any = spec['securityContext'] ?? {};
  if (spec['hostNetwork'] === true) throw new Error('manifest-pod: hostNetwork pods are not translated');
  const podLabels: Record<string, string> = {
    ...(template['metadata']?.['labels'] ?? {}),
    'io.kubernetes.pod.name': ctx.podName,
    'io.kubernetes.pod.namespace': namespace,
    'io.kubernetes.pod.uid': ctx.uid,
  };
  const ports: Any[] = [];
  for (const c of spec['containers'] ?? []) for (const p of c['ports'] ?? []) ports.push({ protocol: p['protocol'] ?? 'TCP', containerPort: p['containerPort'] });
  const sandboxConfig = {
    metadata: { name: ctx.podName, uid: ctx.uid, namespace, attempt: 0 },
    logDirectory: ctx.logDirectory,
    labels: podLabels,
    annotations: template['metadata']?.['annotations'] ?? {},
    portMappings: ports,
    linux: {
      securityContext: {
        // No CNI on the bed: the node's network namespace stands in for the pod's.
        namespaceOptions: { network: 'NODE', pid: spec['hostPID'] ? 'NODE' : 'POD', ipc: spec['hostIPC'] ? 'NODE' : 'POD' },
        ...(psc['runAsUser'] !== undefined ? { runAsUser: { value: String(psc['runAsUser']) } } : {}),
        ...(psc['runAsGroup'] !== undefined ? { runAsGroup: { value: String(psc['runAsGroup']) } } : {}),
        ...(profile(psc) ? { seccomp: profile(psc) } : {}),
      },
    },
  };

  // Volumes as kubelet sets them up on the node.
  const volumes = new Map<string, string>();
  for (const v of spec['volumes'] ?? []) {
    if (v['hostPath']) {
      const onBed = ctx.hostPath(v['hostPath']['path']);
      checkHostPath(onBed, v['hostPath']['type'], v['hostPath']['path']);
      volumes.set(v['name'], onBed);
    } else if (v['emptyDir']) {
      const dir = join(ctx.podDir, 'volumes', 'empty-dir', v['name']);
      mkdirSync(dir, { recursive: true });
      volumes.set(v['name'], dir);
    } else {
      throw new Error(`manifest-pod: volume ${v['name']} (${Object.keys(v).filter((k) => k !== 'name').join(',')}) is not translated`);
    }
  }
  const saMount = spec['automountServiceAccountToken'] !== false;
  const saDir = join(ctx.podDir, 'volumes', 'kube-api-access');
  if (saMount) {
    mkdirSync(saDir, { recursive: true });
    writeFileSync(join(saDir, 'token'), ctx.serviceAccount.token);
    writeFileSync(join(saDir, 'ca.crt'), ctx.serviceAccount.caCert);
    writeFileSync(join(saDir, 'namespace'), namespace);
  }

  const containers: TranslatedContainer[] = (spec['containers'] ?? []).map((c: Any): TranslatedContainer => {
    const csc: Any = c['securityContext'] ?? {};
    const runAsUser = csc['runAsUser'] ?? psc['runAsUser'];
    const runAsGroup = csc['runAsGroup'] ?? psc['runAsGroup'];
    const privileged = csc['privileged'] === true;
    const seccomp = profile(csc) ?? profile(psc);
    if ((csc['runAsNonRoot'] ?? psc['runAsNonRoot']) === true && (runAsUser ?? 0) === 0) {
      throw new Error(`container ${c['name']}: runAsNonRoot and image will run as root`);
    }
    const envs: { key: string; value: string }[] = [
      { key: 'KUBERNETES_SERVICE_HOST', value: ctx.kubernetesService.host },
      { key: 'KUBERNETES_SERVICE_PORT', value: String(ctx.kubernetesService.port) },
      { key: 'KUBERNETES_SERVICE_PORT_HTTPS', value: String(ctx.kubernetesService.port) },
    ];
    for (const e of c['env'] ?? []) {
      if (e['value'] !== undefined) envs.push({ key: e['name'], value: String(e['value']) });
      else if (e['valueFrom']?.['fieldRef']) envs.push({ key: e['name'], value: fieldRef(e['valueFrom']['fieldRef']['fieldPath'], ctx, namespace) });
      else throw new Error(`manifest-pod: env ${e['name']} source is not translated`);
    }
    const mounts: Any[] = (c['volumeMounts'] ?? []).map((m: Any) => {
      const hostPath = volumes.get(m['name']);
      if (!hostPath) throw new Error(`container ${c['name']}: volumeMount ${m['name']} names no volume`);
      return { containerPath: m['mountPath'], hostPath, readonly: m['readOnly'] === true };
    });
    if (saMount) mounts.push({ containerPath: SERVICE_ACCOUNT_MOUNT, hostPath: saDir, readonly: true });
    const portByName: Record<string, number> = {};
    for (const p of c['ports'] ?? []) if (p['name']) portByName[p['name']] = p['containerPort'];
    const probePath = (probe: Any | undefined): string | undefined => probe?.['httpGet']?.['path'];
    const probePort = (probe: Any | undefined): number | undefined => {
      const p = probe?.['httpGet']?.['port'];
      return typeof p === 'number' ? p : typeof p === 'string' ? portByName[p] : undefined;
    };
    return {
      name: c['name'],
      image: c['image'],
      imagePullPolicy: c['imagePullPolicy'] ?? (String(c['image']).endsWith(':latest') ? 'Always' : 'IfNotPresent'),
      ports: portByName,
      readinessPath: probePath(c['readinessProbe']),
      livenessPath: probePath(c['livenessProbe']),
      readinessPort: probePort(c['readinessProbe']),
      livenessPort: probePort(c['livenessProbe']),
      config: {
        metadata: { name: c['name'], attempt: 0 },
        command: c['command'] ?? [],
        args: c['args'] ?? [],
        workingDir: c['workingDir'] ?? '',
        envs,
        mounts,
        labels: { ...podLabels, 'io.kubernetes.container.name': c['name'] },
        annotations: { 'io.kubernetes.container.restartCount': '0', 'io.kubernetes.pod.terminationGracePeriod': String(spec['terminationGracePeriodSeconds'] ?? 30) },
        logPath: `${c['name']}/0.log`,
        linux: {
          securityContext: {
            capabilities: { addCapabilities: csc['capabilities']?.['add'] ?? [], dropCapabilities: csc['capabilities']?.['drop'] ?? [] },
            privileged,
            namespaceOptions: { network: 'NODE', pid: spec['hostPID'] ? 'NODE' : spec['shareProcessNamespace'] ? 'POD' : 'CONTAINER', ipc: spec['hostIPC'] ? 'NODE' : 'POD' },
            ...(runAsUser !== undefined ? { runAsUser: { value: String(runAsUser) } } : {}),
            ...(runAsGroup !== undefined ? { runAsGroup: { value: String(runAsGroup) } } : {}),
            readonlyRootfs: csc['readOnlyRootFilesystem'] === true,
            noNewPrivs: csc['allowPrivilegeEscalation'] === false,
            maskedPaths: privileged ? [] : DEFAULT_MASKED_PATHS,
            readonlyPaths: privileged ? [] : DEFAULT_READONLY_PATHS,
            ...(seccomp ? { seccomp } : {}),
          },
        },
      },
    };
  });
  return { namespace, sandboxConfig, containers, terminationGracePeriodSeconds: spec['terminationGracePeriodSeconds'] ?? 30 };
}
