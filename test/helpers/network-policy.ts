/**
 * NetworkPolicy egress semantics (kubernetes.io/docs/concepts/services-networking/network-policies):
 * with Egress in policyTypes, a connection is allowed when some rule allows it; a rule
 * allows it when one of its `to` peers matches (no `to` = any destination) and one of
 * its ports matches (no `ports` = any port); ipBlock matches the CIDR minus `except`;
 * `endPort` makes a range. Only ipBlock peers are evaluated (pod/namespace selectors are
 * reported as not matching an external address).
 */
import { BlockList, isIPv6 } from 'node:net';

type Any = Record<string, any>;

function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/');
  const list = new BlockList();
  const type = isIPv6(net!) ? 'ipv6' : 'ipv4';
  if (type !== (isIPv6(ip) ? 'ipv6' : 'ipv4')) return false;
  list.addSubnet(net!, Number(bits), type);
  return list.check(ip, type);
}

export function egressAllows(policy: Any, ip: string, port: number, protocol = 'TCP'): boolean {
  const spec = policy['spec'];
  if (!(spec['policyTypes'] ?? []).includes('Egress')) return true;
  return (spec['egress'] ?? []).some((rule: Any) => {
    const peers: Any[] | undefined = rule['to'];
    const peerOk = !peers || peers.length === 0 || peers.some((p) => p['ipBlock'] && inCidr(ip, p['ipBlock'].cidr) && !(p['ipBlock'].except ?? []).some((e: string) => inCidr(ip, e)));
    const ports: Any[] | undefined = rule['ports'];
    const portOk = !ports || ports.length === 0 || ports.some((p) => (p['protocol'] ?? 'TCP') === protocol && (p['port'] === undefined || (p['endPort'] !== undefined ? port >= p['port'] && port <= p['endPort'] : port === p['port'])));
    return peerOk && portOk;
  });
}
