/**
 * Where each Kubernetes distribution keeps containerd's socket and configuration
 * (node-layouts fact sheet §1.1, sources named per row). Detection is by which of these
 * configuration files exists under --host-root, first match wins (distribution-specific
 * paths before the upstream default); explicit flags always win.
 */
export interface NodeLayout {
  readonly id: 'k3s' | 'rke2' | 'microk8s' | 'k0s' | 'talos' | 'containerd';
  readonly name: string;
  /** The CRI socket the kubelet of this layout uses. */
  readonly socket: string;
  /** containerd's root configuration file. */
  readonly configFile: string;
}

export const NODE_LAYOUTS: readonly NodeLayout[] = [
  // k3s pkg/agent/config/config_linux.go; pkg/agent/containerd/config.go
  { id: 'k3s', name: 'k3s', socket: '/run/k3s/containerd/containerd.sock', configFile: '/var/lib/rancher/k3s/agent/etc/containerd/config.toml' },
  // rke2-docs docs/advanced.md, docs/reference/cli_tools.md
  { id: 'rke2', name: 'RKE2', socket: '/run/k3s/containerd/containerd.sock', configFile: '/var/lib/rancher/rke2/agent/etc/containerd/config.toml' },
  // microk8s default-args/containerd, wrappers/run-containerd-with-args
  { id: 'microk8s', name: 'MicroK8s', socket: '/var/snap/microk8s/common/run/containerd.sock', configFile: '/var/snap/microk8s/current/args/containerd.toml' },
  // k0s pkg/config/cfgvars.go, docs/runtime.md
  { id: 'k0s', name: 'k0s', socket: '/run/k0s/containerd.sock', configFile: '/etc/k0s/containerd.toml' },
  // talos pkg/machinery/constants (CRI containerd), hack/cri-containerd.toml
  { id: 'talos', name: 'Talos', socket: '/run/containerd/containerd.sock', configFile: '/etc/cri/containerd.toml' },
  // upstream default: kubeadm, kind, EKS (AL2023, Bottlerocket), AKS, GKE
  { id: 'containerd', name: 'containerd default (kubeadm, kind, EKS, Bottlerocket, AKS, GKE)', socket: '/run/containerd/containerd.sock', configFile: '/etc/containerd/config.toml' },
];

/** The layout whose configuration file exists (first match), or undefined when none does. */
export function detectLayout(exists: (nodePath: string) => boolean): NodeLayout | undefined {
  return NODE_LAYOUTS.find((l) => exists(l.configFile));
}

/**
 * The CRI socket to use when none is given: the detected layout's own socket when it exists, else
 * the first known socket that exists (in layout order), else the upstream default. The socket is
 * looked for at its node path as this process sees it (on the host, or mounted at the same path in
 * the agent's pod); the layout is detected from configuration files under --host-root.
 */
export function detectSocket(configExists: (nodePath: string) => boolean, socketExists: (path: string) => boolean): { socket: string; layout: NodeLayout | undefined } {
  const layout = detectLayout(configExists);
  if (layout && socketExists(layout.socket)) return { socket: layout.socket, layout };
  const found = NODE_LAYOUTS.find((l) => socketExists(l.socket));
  return { socket: found?.socket ?? NODE_LAYOUTS.find((l) => l.id === 'containerd')!.socket, layout };
}
