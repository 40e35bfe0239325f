/**
 * A deliberate CRI allow-list violation, run only by suite-guards.test.ts in a throwaway
 * vitest run (its own config): that run must fail.
 */
import * as grpc from '@grpc/grpc-js';
import { it } from 'vitest';
import { FakeCri } from '../fakes/fake-cri.js';

it(`calls ${process.env['GUARD_METHOD'] ?? 'RemoveImage'} on a fake CRI server`, async () => {
  const fake = await new FakeCri().start();
  const client = new grpc.Client(fake.endpoint, grpc.credentials.createInsecure());
  const method = process.env['GUARD_METHOD'] ?? 'RemoveImage';
  const service = method === 'RemoveImage' ? 'ImageService' : 'RuntimeService';
  // An empty protobuf message: every field at its default (ContainerStatus gets verbose=true below).
  const body = method === 'ContainerStatus' ? Buffer.from([0x0a, 0x01, 0x63, 0x10, 0x01]) : Buffer.alloc(0);
  await new Promise((resolve) => client.makeUnaryRequest(`/runtime.v1.${service}/${method}`, (b: Buffer) => b, (b: Buffer) => b, body, () => resolve(undefined)));
  client.close();
  await fake.stop();
});
