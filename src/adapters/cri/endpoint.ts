/** Runtime endpoint handling: `unix:///run/containerd/containerd.sock` or a bare socket path. */
import { existsSync, statSync } from 'node:fs';
import { detectSocket } from '../../domain/node-layouts.js';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_RUNTIME_ENDPOINT = 'unix:///run/containerd/containerd.sock';

export interface RuntimeEndpoint {
  /** Address for grpc-js: `unix:///abs/path`. */
  readonly address: string;
  /** Filesystem path of the socket. */
  readonly socketPath: string;
}

export function parseRuntimeEndpoint(endpoint: string): RuntimeEndpoint {
  const trimmed = endpoint.trim();
  let path: string;
  if (trimmed.startsWith('unix://')) path = trimmed.slice('unix://'.length);
  else if (trimmed.startsWith('/')) path = trimmed;
  else throw new Error(`runtime endpoint ${JSON.stringify(endpoint)}: expected unix:///path/to/socket or an absolute socket path`);
  if (!path.startsWith('/')) throw new Error(`runtime endpoint ${JSON.stringify(endpoint)}: socket path must be absolute`);
  return { address: `unix://${path}`, socketPath: path };
}

/** Locates a file under the package's `protos/` directory, from src/ (tests) or dist/ (built). */
export function protoPath(file: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'protos', file);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`protos/${file} not found near ${fileURLToPath(import.meta.url)}`);
}

/** Loader options for the CRI protos: their imports resolve inside `protos/`. */
export function protoLoadOptions(): { includeDirs: string[] } {
  return { includeDirs: [dirname(protoPath('cri-types.proto'))] };
}

/**
 * The endpoint to dial: the one given, else the socket of the node layout detected from the
 * configuration files under the host root (k3s's /run/k3s/containerd/containerd.sock on a k3s node),
 * as the agent finds it in its pod and an operator's shell finds it on the host.
 */
export function runtimeEndpointFor(given: string | undefined, configExists: (nodePath: string) => boolean): string {
  if (given) return given;
  const isSocket = (p: string) => {
    try {
      return statSync(p).isSocket();
    } catch {
      return false;
    }
  };
  return `unix://${detectSocket(configExists, isSocket).socket}`;
}
