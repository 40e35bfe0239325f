/**
 * The Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards,
 * the checks of k8s.io/pod-security-admission), evaluated on a pod spec: which controls
 * of `baseline` and `restricted` it violates, and so the strictest level that admits it.
 * Windows-only and version-gated details (hostProcess, AppArmor annotations before 1.30)
 * are left out: the agent is a Linux pod.
 */
export type Level = 'privileged' | 'baseline' | 'restricted';
export const LEVELS: readonly Level[] = ['restricted', 'baseline', 'privileged'];

type Any = Record<string, any>;

const BASELINE_CAPS = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);

function containersOf(pod: Any): Any[] {
  return [...(pod['initContainers'] ?? []), ...(pod['containers'] ?? []), ...(pod['ephemeralContainers'] ?? [])];
}

/** Violated controls, by level ("baseline: hostPath volumes (containerd-run)"). */
export function violations(pod: Any): { baseline: string[]; restricted: string[] } {
  const baseline: string[] = [];
  const restricted: string[] = [];
  const psc: Any = pod['securityContext'] ?? {};
  const cs = containersOf(pod);
  const csc = (c: Any): Any => c['securityContext'] ?? {};

  // baseline
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC']) if (pod[ns] === true) baseline.push(`host namespaces (${ns})`);
  for (const c of cs) if (csc(c)['privileged'] === true) baseline.push(`privileged (${c.name})`);
  for (const c of cs) for (const cap of csc(c)['capabilities']?.['add'] ?? []) if (!BASELINE_CAPS.has(cap)) baseline.push(`capabilities (${c.name}: ${cap})`);
  for (const v of pod['volumes'] ?? []) if (v['hostPath']) baseline.push(`hostPath volumes (${v.name})`);
  for (const c of cs) for (const p of c['ports'] ?? []) if (p['hostPort']) baseline.push(`host ports (${c.name}: ${p['hostPort']})`);
  for (const sc of [psc, ...cs.map(csc)]) {
    const aa = sc['appArmorProfile']?.['type'];
    if (aa !== undefined && aa !== 'RuntimeDefault' && aa !== 'Localhost') baseline.push(`AppArmor (${aa})`);
    const se = sc['seLinuxOptions'];
    if (se && (!SELINUX_TYPES.has(se['type'] ?? '') || se['user'] || se['role'])) baseline.push('SELinux');
    if (sc['seccompProfile']?.['type'] === 'Unconfined') baseline.push('seccomp (Unconfined)');
  }
  for (const c of cs) if ((csc(c)['procMount'] ?? 'Default') !== 'Default') baseline.push(`/proc mount type (${c.name})`);
  for (const s of psc['sysctls'] ?? []) if (!SAFE_SYSCTLS.has(s.name)) baseline.push(`sysctls (${s.name})`);

  // restricted (in addition to baseline)
  for (const v of pod['volumes'] ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUMES.has(type)) restricted.push(`volume types (${v.name}: ${type})`);
  }
  for (const c of cs) if (csc(c)['allowPrivilegeEscalation'] !== false) restricted.push(`privilege escalation (${c.name})`);
  for (const c of cs) {
    const nonRoot = csc(c)['runAsNonRoot'] ?? psc['runAsNonRoot'];
    if (nonRoot !== true) restricted.push(`running as non-root (${c.name})`);
  }
  for (const sc of [psc, ...cs.map(csc)]) if (sc['runAsUser'] === 0) restricted.push('running as non-root user (runAsUser: 0)');
  for (const c of cs) {
    const t = csc(c)['seccompProfile']?.['type'] ?? psc['seccompProfile']?.['type'];
    if (t !== 'RuntimeDefault' && t !== 'Localhost') restricted.push(`seccomp (${c.name}: ${t ?? 'unset'})`);
  }
  for (const c of cs) {
    const caps = csc(c)['capabilities'] ?? {};
    if (!(caps['drop'] ?? []).includes('ALL')) restricted.push(`capabilities (${c.name}: ALL not dropped)`);
    for (const cap of caps['add'] ?? []) if (cap !== 'NET_BIND_SERVICE') restricted.push(`capabilities (${c.name}: adds ${cap})`);
  }
  return { baseline, restricted };
}

/** The strictest level whose controls the pod meets. */
export function strictestLevel(pod: Any): Level {
  const v = violations(pod);
  if (v.baseline.length > 0) return 'privileged';
  return v.restricted.length > 0 ? 'baseline' : 'restricted';
}

/** Whether a namespace at `level` admits a pod that meets `podLevel`. */
export function admits(level: Level, podLevel: Level): boolean {
  return LEVELS.indexOf(podLevel) <= LEVELS.indexOf(level);
}
