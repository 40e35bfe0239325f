/**
 * From a planned endpoint (node paths, header names) to what the registry client
 * sends: CA and client certificate contents read through the node's files, and
 * hosts.toml header values, and the node's own credential for the endpoint's host from
 * config.toml. Read once per endpoint and kept in this process only.
 */
import { posix } from 'node:path';
import type { HostFiles } from '../node-files/host-files.js';
import { readHostHeaderValues } from '../../runtimes/containerd/hosts-toml.js';
import type { PlannedEndpoint } from '../../domain/registry-config.js';
import type { NodeCredential, RegistryEndpoint } from './client.js';
import { readNodeCredential } from './node-credentials.js';
import type { TlsSettings } from './http.js';

export interface EndpointProblem {
  readonly url: string;
  readonly reason: string;
}

export function createEndpointResolver(files: HostFiles | undefined): {
  resolve(e: PlannedEndpoint): RegistryEndpoint;
  problems(): EndpointProblem[];
} {
  const cache = new Map<string, RegistryEndpoint>();
  const problems: EndpointProblem[] = [];
  const read = (path: string, base: string | undefined, url: string): string | undefined => {
    if (!files) return undefined;
    const full = posix.isAbsolute(path) || !base ? path : posix.join(base, path);
    const r = files.read(full);
    if (r.ok) return r.text;
    problems.push({ url, reason: `cannot read ${full}: ${r.kind === 'missing' ? 'missing' : r.message}` });
    return undefined;
  };
  return {
    resolve(e: PlannedEndpoint): RegistryEndpoint {
      const key = JSON.stringify([e.url, e.tls, e.origin, e.skipVerify, e.nodeCredential]);
      const hit = cache.get(key);
      if (hit) return hit;
      const dir = e.origin ? posix.dirname(e.origin.file) : undefined;
      const tlsDir = dir ?? (e.source.match(/^(\/\S+)\/hosts\.toml/)?.[1]);
      let tls: TlsSettings | undefined;
      if (e.tls || e.skipVerify) {
        const ca = (e.tls?.ca ?? []).map((p) => read(p, tlsDir, e.url)).filter((x): x is string => x !== undefined);
        const pair = e.tls?.clientPairs[0];
        const cert = pair ? read(pair[0], tlsDir, e.url) : undefined;
        const key = pair ? (pair[1] ? read(pair[1], tlsDir, e.url) : cert) : undefined;
        tls = { ...(ca.length > 0 ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}), skipVerify: e.skipVerify };
      }
      let headers: Record<string, string> | undefined;
      if (e.origin && files) {
        const text = files.read(e.origin.file);
        if (text.ok) headers = readHostHeaderValues(text.text, e.origin.file)[e.origin.entry];
      }
      const credential: NodeCredential | undefined = e.nodeCredential && files ? readNodeCredential(files, e.nodeCredential) : undefined;
      const out: RegistryEndpoint = {
        url: e.url, ...(tls ? { tls } : {}), ...(headers && Object.keys(headers).length > 0 ? { headers } : {}), ...(credential ? { credential } : {}),
      };
      cache.set(key, out);
      return out;
    },
    problems: () => [...problems],
  };
}
