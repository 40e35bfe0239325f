/**
 * A CRI server for benchmarks, in its own process: the synthetic node's responses are
 * encoded once (protobufjs, the project's CRI types) and sent as bytes, so the time
 * measured on the client side is the scanner's, not a JavaScript fake's encoding.
 * Sends its endpoint to the parent over IPC. Args: images, containers, [socket path].
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { syntheticNode } from './fixtures.js';

const images = Number(process.argv[2] ?? 5000);
const containers = Number(process.argv[3] ?? 500);
const node = syntheticNode(images, containers);
const root = await protobuf.load(new URL('../protos/cri-types.proto', import.meta.url).pathname);
const encode = (type: string, obj: object): Buffer => {
  const T = root.lookupType(`runtime.v1.${type}`);
  return Buffer.from(T.encode(T.fromObject(obj)).finish());
};
const STATE = { CONTAINER_CREATED: 0, CONTAINER_RUNNING: 1, CONTAINER_EXITED: 2, CONTAINER_UNKNOWN: 3 } as const;
const responses: Record<string, Buffer> = {
  '/runtime.v1.RuntimeService/Version': encode('VersionResponse', { version: '0.1.0', runtimeName: 'containerd', runtimeVersion: 'v1.7.0', runtimeApiVersion: 'v1' }),
  '/runtime.v1.ImageService/ListImages': encode('ListImagesResponse', {
    images: node.images.map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: i.size })),
  }),
  '/runtime.v1.RuntimeService/ListContainers': encode('ListContainersResponse', {
    containers: node.containers.map((c) => ({
      id: c.id,
      podSandboxId: c.podSandboxId,
      metadata: { name: c.name, attempt: 0 },
      image: { image: c.imageId },
      imageRef: c.imageId,
      state: STATE[c.state],
      createdAt: '1767225600000000000',
      labels: { 'io.kubernetes.pod.name': c.pod.name, 'io.kubernetes.pod.namespace': c.pod.namespace, 'io.kubernetes.pod.uid': c.pod.uid, 'io.kubernetes.container.name': c.name },
    })),
  }),
  '/runtime.v1.ImageService/ImageStatus': encode('ImageStatusResponse', {}),
};
const service: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
for (const path of Object.keys(responses)) {
  service[path] = {
    path, requestStream: false, responseStream: false,
    requestSerialize: (x: Buffer) => x, requestDeserialize: (x: Buffer) => x,
    responseSerialize: (x: Buffer) => x, responseDeserialize: (x: Buffer) => x,
  };
}
const impl: grpc.UntypedServiceImplementation = {};
for (const path of Object.keys(responses)) impl[path] = ((_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, responses[path]!)) as grpc.handleUnaryCall<Buffer, Buffer>;
const server = new grpc.Server({ 'grpc.max_send_message_length': 256 * 1024 * 1024 });
server.addService(service as grpc.ServiceDefinition, impl);
const socket = process.argv[4] ?? join(mkdtempSync(join(tmpdir(), 'tagdrift-bench-cri-')), 'cri.sock');
await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
process.send?.(`unix://${socket}`);
process.on('SIGTERM', () => server.forceShutdown());
