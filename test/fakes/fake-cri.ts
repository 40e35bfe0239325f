/**
 * A fake CRI server: a real gRPC server on a temp unix socket, built from the full
 * CRI method surface (testbed/protos/cri-full.proto). Read-only methods answer from
 * builder state; every other method, and a verbose ContainerStatus, is recorded as a
 * violation (appended to the file named by TAGDRIFT_CRI_CALL_LOG, which the
 * allow-list guard checks after the whole run) and answered with PERMISSION_DENIED.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadFullCri } from '../../testbed/cri-full.js';
import { ALLOWED_CRI_METHODS } from '../../src/adapters/cri/client.js';

/** Releases the fake answers as: the three the test bed runs for real, and others emulated from the fact sheet. */
export const EMULATED_RELEASES = ['1.6.20', '1.7.24', '1.7.34', '2.0.11', '2.1.9', '2.2.7', '2.3.4'] as const;
export type EmulatedRelease = (typeof EMULATED_RELEASES)[number];

export interface FakeImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  labels?: Record<string, string>;
  env?: string[];
}
export interface FakeContainer {
  id: string;
  podSandboxId: string;
  name: string;
  imageId: string;
  state: 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_CREATED';
  pod: { name: string; namespace: string; uid: string };
  userSpecifiedImage?: string;
}

type Handler = grpc.handleUnaryCall<any, any>;

export class FakeCri {
  readonly dir = mkdtempSync(join(tmpdir(), 'tagdrift-fakecri-'));
  readonly socket = join(this.dir, 'cri.sock');
  readonly calls: string[] = [];
  readonly violations: string[] = [];
  /** The image of every ImageStatus request, with `verbose`: `sha256:…(verbose)`. */
  readonly imageStatusRequests: string[] = [];
  private server: grpc.Server | undefined;
  private images: FakeImage[] = [];
  private containers: FakeContainer[] = [];
  // Emulates containerd unless told otherwise (withVersion): the runtime name decides whose configuration is read.
  private version = { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: 'v0.0.0-fake', runtimeApiVersion: 'v1' };
  /** Milliseconds to wait before answering any call (a slow or hung runtime). */
  delayMs = 0;
  /** When set, every call fails with this gRPC status. */
  failWith: grpc.status | undefined;

  get endpoint(): string {
    return `unix://${this.socket}`;
  }

  withImages(...images: FakeImage[]): this {
    this.images.push(...images);
    return this;
  }

  withContainers(...containers: FakeContainer[]): this {
    this.containers.push(...containers);
    return this;
  }

  /**
   * Answers as this containerd release does: ListContainers carries `user_specified_image`
   * from 1.7 (observed on the real 1.7.24 and 2.1.9; 1.6.20 keeps none) and `image_id` from 2.3
   * (fact sheet, not observed); ContainerStatus names the image by its first tag when it has one,
   * `image_ref` by its first repo digest, and `image_id` from 2.3. Releases the test bed runs for
   * real (1.6.20, 1.7.24, 2.1.9) are compared field by field with this emulation in the
   * real-node tier. Without a release, the fake answers as 1.6.20 does.
   */
  emulate(release: EmulatedRelease): this {
    this.release = release.split('.').map(Number) as [number, number, number];
    return this.withVersion({ runtimeName: 'containerd', runtimeVersion: `v${release}` });
  }

  private release: [number, number, number] = [1, 6, 20];
  private atLeast(major: number, minor: number, patch = 0): boolean {
    const [a, b, c] = this.release;
    return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
  }

  /** 1.7.24 keeps the pod's image string (observed); which earlier 1.7 patch began to is not verified. */
  private keepsUserImage(): boolean {
    return this.atLeast(1, 7, 24);
  }

  withVersion(v: Partial<typeof this.version>): this {
    this.version = { ...this.version, ...v };
    return this;
  }

  private record(method: string, violation?: string): void {
    this.calls.push(method);
    if (violation) {
      this.violations.push(violation);
      const log = process.env['TAGDRIFT_CRI_CALL_LOG'];
      if (log) appendFileSync(log, `${JSON.stringify({ violation, at: new Date().toISOString() })}\n`);
    }
  }

  private answer(method: string, fn: (req: any) => unknown): Handler {
    return (call, cb) => {
      this.record(method);
      setTimeout(() => {
        if (this.failWith !== undefined) return cb({ code: this.failWith, details: 'injected' } as grpc.ServiceError);
        try {
          cb(null, fn(call.request));
        } catch (e) {
          cb({ code: grpc.status.INTERNAL, details: (e as Error).message } as grpc.ServiceError);
        }
      }, this.delayMs);
    };
  }

  private criImage(i: FakeImage) {
    return { id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: String(i.size), pinned: false };
  }

  private findImage(ref: string): FakeImage | undefined {
    return this.images.find((i) => i.id === ref || i.repoTags.includes(ref) || i.repoDigests.includes(ref));
  }

  async start(): Promise<this> {
    const cri = loadFullCri();
    const server = new grpc.Server();
    const allowed: Record<string, Handler> = {
      Version: this.answer('Version', () => this.version),
      ListImages: this.answer('ListImages', () => ({ images: this.images.map((i) => this.criImage(i)) })),
      ImageStatus: this.answer('ImageStatus', (req) => {
        this.imageStatusRequests.push(`${req.image?.image ?? ''}${req.verbose ? '(verbose)' : ''}`);
        const image = this.findImage(req.image?.image ?? '');
        if (!image) return { image: null, info: {} };
        const info = req.verbose
          ? { info: JSON.stringify({ chainID: 'sha256:0', imageSpec: { created: '2026-01-01T00:00:00Z', config: { Env: image.env ?? [], Labels: image.labels ?? {} } } }) }
          : {};
        return { image: this.criImage(image), info };
      }),
      ImageFsInfo: this.answer('ImageFsInfo', () => ({ imageFilesystems: [] })),
      ListContainers: this.answer('ListContainers', () => ({
        containers: this.containers.map((c) => ({
          id: c.id,
          podSandboxId: c.podSandboxId,
          metadata: { name: c.name, attempt: 0 },
          image: { image: c.imageId, userSpecifiedImage: this.keepsUserImage() ? c.userSpecifiedImage ?? '' : '' },
          imageRef: c.imageId,
          imageId: this.atLeast(2, 3) ? c.imageId : '',
          state: c.state,
          createdAt: '1767225600000000000',
          labels: {
            'io.kubernetes.pod.name': c.pod.name,
            'io.kubernetes.pod.namespace': c.pod.namespace,
            'io.kubernetes.pod.uid': c.pod.uid,
            'io.kubernetes.container.name': c.name,
          },
        })),
      })),
      ListPodSandbox: this.answer('ListPodSandbox', () => ({ items: [] })),
    };
    const guard = (service: grpc.ServiceDefinition) => {
      const impl: Record<string, grpc.UntypedHandleCall> = {};
      for (const [name, def] of Object.entries(service)) {
        const method = name.charAt(0).toUpperCase() + name.slice(1);
        if (method === 'ContainerStatus') {
          impl[name] = ((call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
            if (call.request.verbose) {
              this.record(method, 'ContainerStatus called with verbose=true');
              return cb({ code: grpc.status.PERMISSION_DENIED, details: 'verbose ContainerStatus is forbidden' } as grpc.ServiceError);
            }
            this.record(method);
            const c = this.containers.find((x) => x.id === call.request.containerId);
            if (!c) return cb({ code: grpc.status.NOT_FOUND, details: 'no such container' } as grpc.ServiceError);
            const image = this.images.find((i) => i.id === c.imageId);
            cb(null, {
              status: {
                id: c.id, metadata: { name: c.name }, state: c.state,
                image: { image: image?.repoTags[0] ?? c.imageId, userSpecifiedImage: this.keepsUserImage() && !image?.repoTags[0] ? c.userSpecifiedImage ?? '' : '' },
                imageRef: image?.repoDigests[0] ?? c.imageId,
                imageId: this.atLeast(2, 3) ? c.imageId : '',
              },
            });
          }) as grpc.UntypedHandleCall;
        } else if (allowed[method] && (ALLOWED_CRI_METHODS as readonly string[]).includes(method)) {
          impl[name] = allowed[method]!;
        } else {
          const forbidden = (reply: (err: grpc.ServiceError) => void) => {
            this.record(method, `forbidden CRI method ${method} called`);
            reply({ code: grpc.status.PERMISSION_DENIED, details: `${method} is not on the allow-list` } as grpc.ServiceError);
          };
          impl[name] = (def.responseStream
            ? (call: grpc.ServerWritableStream<any, any>) => forbidden((err) => call.destroy(err))
            : (_call: unknown, cb: grpc.sendUnaryData<any>) => forbidden((err) => cb(err))) as grpc.UntypedHandleCall;
        }
      }
      return impl;
    };
    server.addService(cri.RuntimeService.service, guard(cri.RuntimeService.service));
    server.addService(cri.ImageService.service, guard(cri.ImageService.service));
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(this.endpoint, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.server = server;
    return this;
  }

  async stop(removeDir = true): Promise<void> {
    const s = this.server;
    this.server = undefined;
    // A graceful shutdown, unless calls are held by an injected delay: then cut them off.
    if (s) await Promise.race([new Promise<void>((resolve) => s.tryShutdown(() => resolve())), new Promise((r) => setTimeout(r, 500))]);
    s?.forceShutdown();
    if (removeDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `sha256:` + 64 hex chars derived from a seed, for readable fixtures. */
export function fakeDigest(seed: string): string {
  let hex = '';
  for (let i = 0; hex.length < 64; i++) hex += ((seed.charCodeAt(i % seed.length) * 31 + i * 7) % 256).toString(16).padStart(2, '0');
  return `sha256:${hex.slice(0, 64)}`;
}
