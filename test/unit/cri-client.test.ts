import { waitFor } from '../../testbed/proc.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';
import { ALLOWED_CRI_METHODS, createCriClient } from '../../src/adapters/cri/client.js';
import { protoLoadOptions, protoPath } from '../../src/adapters/cri/endpoint.js';
import { SourceFailure } from '../../src/domain/ports.js';
import { loadFullCri, testbedProtoPath } from '../../testbed/cri-full.js';
import { FakeCri } from '../fakes/fake-cri.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function fake(): Promise<FakeCri> {
  const f = await new FakeCri().start();
  cleanups.push(() => f.stop());
  return f;
}

function client(endpoint: string, timeoutMs = 2000) {
  const c = createCriClient({ endpoint, timeoutMs });
  cleanups.push(() => c.close());
  return c;
}

async function failure(p: Promise<unknown>): Promise<SourceFailure> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(SourceFailure);
  return e as SourceFailure;
}

/** Methods declared per service in a .proto file. */
function declaredMethods(file: string): string[] {
  const def = protoLoader.loadSync(file, protoLoadOptions());
  return Object.entries(def)
    .filter(([name, v]) => name.endsWith('Service') && typeof v === 'object')
    .flatMap(([, svc]) => Object.keys(svc as object));
}

describe('the read-only proto', () => {
  it('declares exactly the allow-listed methods, nothing else', () => {
    const methods = declaredMethods(protoPath('cri-readonly.proto')).map((m) => m.split('.').pop()!);
    expect(new Set(methods)).toEqual(new Set(ALLOWED_CRI_METHODS));
    expect(methods).toHaveLength(ALLOWED_CRI_METHODS.length);
  });

  it('cannot express a verbose ContainerStatus', () => {
    const def = protoLoader.loadSync(protoPath('cri-readonly.proto'), protoLoadOptions());
    const msg = def['runtime.v1.ContainerStatusRequest'] as { type: { field: { name: string }[] } };
    expect(msg.type.field.map((f) => f.name)).toEqual(['containerId']);
  });

  it('shares field numbers with the test bed full proto (both import protos/cri-types.proto)', () => {
    const fields = (file: string) => {
      const def = protoLoader.loadSync(file, protoLoadOptions());
      const out = new Map<string, string>();
      for (const [name, v] of Object.entries(def)) {
        const type = (v as { type?: { field?: { name: string; number: number; type: string }[] } }).type;
        if (type?.field) out.set(name, type.field.map((f) => `${f.name}=${f.number}:${f.type}`).join(','));
      }
      return out;
    };
    const ro = fields(protoPath('cri-readonly.proto'));
    const full = fields(testbedProtoPath());
    for (const [name, sig] of ro) {
      if (name === 'runtime.v1.ContainerStatusRequest') continue;
      expect(full.get(name), name).toBe(sig);
    }
  });
});

describe('CRI client faults', () => {
  it('a missing socket is socket-missing, quickly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'td-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const started = Date.now();
    const e = await failure(client(`unix://${dir}/none.sock`).version());
    expect(e.kind).toBe('socket-missing');
    expect(e.message).toContain(`${dir}/none.sock`);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a path that is not a socket is unavailable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'td-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'file.sock'), 'x');
    expect((await failure(client(`unix://${dir}/file.sock`).listImages())).kind).toBe('unavailable');
  });

  it('a runtime that answers another CRI version is not-cri-v1', async () => {
    const f = await fake();
    f.withVersion({ runtimeApiVersion: 'v1alpha2' });
    const e = await failure(client(f.endpoint).version());
    expect(e.kind).toBe('not-cri-v1');
    expect(e.message).toContain('v1alpha2');
  });

  it('a gRPC server without the CRI services is not-cri-v1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'td-'));
    const server = new grpc.Server();
    await new Promise<void>((res, rej) => server.bindAsync(`unix://${dir}/other.sock`, grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    cleanups.push(() => {
      server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    });
    expect((await failure(client(`unix://${dir}/other.sock`).version())).kind).toBe('not-cri-v1');
  });

  it('a hung runtime is a timeout at the deadline', async () => {
    const f = await fake();
    f.delayMs = 3000;
    const started = Date.now();
    const e = await failure(client(f.endpoint, 300).listContainers());
    expect(e.kind).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reconnects within seconds after the runtime restarts on the same socket', async () => {
    const f = await new FakeCri().start();
    cleanups.push(() => f.stop());
    const c = client(f.endpoint, 1000);
    expect((await c.version()).apiVersion).toBe('v1');
    await f.stop(false);
    expect((await failure(c.version())).kind).toMatch(/unavailable|socket-missing/);
    await f.start();
    await waitFor('the client to reconnect', () => c.version().then(() => true, () => false), 5_000);
  });

  it('handles a ListImages response far beyond grpc-js default 4 MiB', async () => {
    const f = await fake();
    const tags = Array.from({ length: 60 }, (_, i) => `registry.example:5000/big/repo-with-a-long-name-${i}:tag-${i}`);
    for (let i = 0; i < 1500; i++) {
      f.withImages({ id: `sha256:${i.toString(16).padStart(64, '0')}`, repoTags: tags, repoDigests: [], size: i + 1 });
    }
    const images = await client(f.endpoint, 10_000).listImages();
    expect(images).toHaveLength(1500);
  });
});

describe('the fake CRI server', () => {
  it('records a call outside the allow-list as a violation (and would fail the run)', async () => {
    const saved = process.env['TAGDRIFT_CRI_CALL_LOG'];
    process.env['TAGDRIFT_CRI_CALL_LOG'] = ''; // this deliberate violation must not fail the whole run
    try {
      const f = await fake();
      const cri = loadFullCri();
      const images = new cri.ImageService(f.endpoint, grpc.credentials.createInsecure());
      const runtime = new cri.RuntimeService(f.endpoint, grpc.credentials.createInsecure());
      cleanups.push(() => {
        images.close();
        runtime.close();
      });
      const call = (c: grpc.Client, m: string, req: object) =>
        new Promise<grpc.ServiceError | null>((res) => (c as any)[m](req, (err: grpc.ServiceError | null) => res(err)));
      expect((await call(images, 'RemoveImage', { image: { image: 'x' } }))?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect((await call(runtime, 'ContainerStatus', { containerId: 'c', verbose: true }))?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(f.violations).toEqual(['forbidden CRI method RemoveImage called', 'ContainerStatus called with verbose=true']);
    } finally {
      process.env['TAGDRIFT_CRI_CALL_LOG'] = saved;
    }
  });

  it('the guard log of this run holds no violation so far', () => {
    const log = process.env['TAGDRIFT_CRI_CALL_LOG'];
    expect(log).toBeTruthy();
    expect(readFileSync(log!, 'utf8')).toBe('');
  });
});
