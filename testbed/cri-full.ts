/** Loads the test-only full CRI proto (testbed/protos/cri-full.proto) for the bed's kubelet and the fake CRI server. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoLoadOptions } from '../src/adapters/cri/endpoint.js';

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

export function testbedProtoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'testbed', 'protos', 'cri-full.proto');
    if (existsSync(candidate)) return candidate;
    const sibling = join(dir, 'protos', 'cri-full.proto');
    if (existsSync(sibling)) return sibling;
    dir = dirname(dir);
  }
  throw new Error('testbed/protos/cri-full.proto not found');
}

export interface FullCri {
  RuntimeService: grpc.ServiceClientConstructor;
  ImageService: grpc.ServiceClientConstructor;
}

let cached: FullCri | undefined;
export function loadFullCri(): FullCri {
  if (!cached) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(testbedProtoPath(), { ...LOADER_OPTIONS, ...protoLoadOptions() }));
    const v1 = (pkg['runtime'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
    cached = {
      RuntimeService: v1['RuntimeService'] as grpc.ServiceClientConstructor,
      ImageService: v1['ImageService'] as grpc.ServiceClientConstructor,
    };
  }
  return cached;
}
