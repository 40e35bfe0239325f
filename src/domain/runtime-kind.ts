/** Which runtime a CRI Version answer names (`runtime_name`: "containerd", "cri-o"). */
export type RuntimeKind = 'containerd' | 'cri-o' | 'other';

export function runtimeKind(runtimeName: string): RuntimeKind {
  const n = runtimeName.trim().toLowerCase();
  if (n === 'containerd') return 'containerd';
  if (n === 'cri-o' || n === 'crio') return 'cri-o';
  return 'other';
}
