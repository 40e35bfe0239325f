/**
 * CRI adapter: a read-only gRPC client for `runtime.v1` over the runtime's unix socket.
 *
 * Only the methods declared in protos/cri-readonly.proto exist on this client, and
 * that file declares only read-only methods. Every call has a deadline. Reconnect
 * back-off is capped at a few seconds (grpc-js would wait up to 120 s), so a
 * restarted containerd is picked up quickly; the receive limit is raised well past
 * 16 MiB because ListImages on a node with thousands of images exceeds grpc-js's
 * 4 MiB default.
 */
import { accessSync, constants, statSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ImageBuildMeta, RuntimeErrorKind, RuntimeInfo } from '../../domain/snapshot.js';
import { SourceFailure, type RuntimeClient } from '../../domain/ports.js';
import { parseRuntimeEndpoint, protoLoadOptions, protoPath } from './endpoint.js';
import { buildMetaFromInfo, mapContainer, mapImage, mapVersion, type CriContainer, type CriImage, type CriVersion } from './map.js';

/** The only CRI methods tagdrift ever calls. */
export const ALLOWED_CRI_METHODS = [
  'Version',
  'ListImages',
  'ImageStatus',
  'ListContainers',
  'ContainerStatus',
  'ListPodSandbox',
  'ImageFsInfo',
] as const;

export const MAX_RECEIVE_BYTES = 128 * 1024 * 1024;

export interface CriClientOptions {
  readonly endpoint: string;
  /** Deadline per call. */
  readonly timeoutMs: number;
  /** Observer for metrics: method, gRPC status name, duration. */
  readonly onCall?: (method: string, code: string, seconds: number) => void;
}

type Unary = (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

let packageCache: grpc.GrpcObject | undefined;
function loadPackage(): grpc.GrpcObject {
  if (!packageCache) {
    const def = protoLoader.loadSync(protoPath('cri-readonly.proto'), {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      ...protoLoadOptions(),
    });
    packageCache = grpc.loadPackageDefinition(def);
  }
  return packageCache;
}

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.min_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2000,
  // unix sockets have no DNS; keep the authority constant so reconnects are cheap.
  'grpc.default_authority': 'localhost',
};

export function createCriClient(options: CriClientOptions): RuntimeClient {
  const endpoint = parseRuntimeEndpoint(options.endpoint);
  const pkg = loadPackage();
  const v1 = (pkg['runtime'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
  const RuntimeService = v1['RuntimeService'] as grpc.ServiceClientConstructor;
  const ImageService = v1['ImageService'] as grpc.ServiceClientConstructor;
  const runtime = new RuntimeService(endpoint.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  const images = new ImageService(endpoint.address, grpc.credentials.createInsecure(), {
    ...CHANNEL_OPTIONS,
    channelOverride: runtime.getChannel(),
  });

  function call<T>(client: grpc.Client, method: (typeof ALLOWED_CRI_METHODS)[number], req: object): Promise<T> {
    const fn = (client as unknown as Record<string, Unary>)[method];
    if (!ALLOWED_CRI_METHODS.includes(method) || typeof fn !== 'function') {
      return Promise.reject(new SourceFailure<RuntimeErrorKind>('error', `CRI method ${method} is not allowed`));
    }
    const started = process.hrtime.bigint();
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + options.timeoutMs }, (err, res) => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        options.onCall?.(method, err ? grpc.status[err.code] ?? String(err.code) : 'OK', seconds);
        if (err) reject(classifyGrpcError(err, method, endpoint.socketPath));
        else resolve(res as T);
      });
    });
  }

  return {
    async version(): Promise<RuntimeInfo> {
      const res = await call<CriVersion>(runtime, 'Version', { version: 'v1' });
      const info = mapVersion(res);
      if (info.apiVersion !== 'v1') {
        throw new SourceFailure<RuntimeErrorKind>(
          'not-cri-v1',
          `${info.name || 'runtime'} ${info.version} speaks CRI ${info.apiVersion || '(none)'}, not v1`,
        );
      }
      return info;
    },
    async listImages() {
      const res = await call<{ images?: CriImage[] }>(images, 'ListImages', {});
      return (res.images ?? []).map(mapImage);
    },
    async listContainers() {
      const res = await call<{ containers?: CriContainer[] }>(runtime, 'ListContainers', {});
      return (res.containers ?? []).map(mapContainer);
    },
    async imageBuildMeta(imageId: string): Promise<ImageBuildMeta | undefined> {
      const res = await call<{ image?: CriImage | null; info?: Record<string, string> }>(images, 'ImageStatus', {
        image: { image: imageId },
        verbose: true,
      });
      return res.image ? buildMetaFromInfo(res.info) : undefined;
    },
    close() {
      runtime.close();
      images.close();
    },
  };
}

/** Turns a gRPC error into a classified, human-readable RuntimeFailure. */
export function classifyGrpcError(err: grpc.ServiceError, method: string, socketPath: string): SourceFailure<RuntimeErrorKind> {
  const where = `${method} on ${socketPath}`;
  switch (err.code) {
    case grpc.status.UNIMPLEMENTED:
      return new SourceFailure('not-cri-v1', `${where}: the endpoint does not implement CRI runtime.v1 (${err.details})`);
    case grpc.status.DEADLINE_EXCEEDED:
      return new SourceFailure('timeout', `${where}: no answer before the deadline`);
    case grpc.status.UNAVAILABLE: {
      const fsKind = socketProblem(socketPath);
      if (fsKind === 'socket-missing') return new SourceFailure(fsKind, `${where}: socket does not exist`);
      if (fsKind === 'permission-denied' || /EACCES|EPERM/.test(err.details)) {
        return new SourceFailure('permission-denied', `${where}: permission denied opening the socket`);
      }
      if (fsKind === 'not-a-socket') return new SourceFailure('unavailable', `${where}: path exists but is not a socket`);
      return new SourceFailure('unavailable', `${where}: runtime not answering (${err.details})`);
    }
    default:
      return new SourceFailure('error', `${where}: ${grpc.status[err.code] ?? err.code}: ${err.details}`);
  }
}

function socketProblem(path: string): 'socket-missing' | 'permission-denied' | 'not-a-socket' | undefined {
  try {
    const st = statSync(path);
    if (!st.isSocket()) return 'not-a-socket';
    accessSync(path, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'socket-missing';
    if (code === 'EACCES' || code === 'EPERM') return 'permission-denied';
    return undefined;
  }
}
