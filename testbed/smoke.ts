/** Brings the bed up, runs one pod, prints what CRI says, tears down. For debugging the bed itself. */
import { TestBed } from './bed.js';

const bed = await TestBed.start();
try {
  const img = await bed.publish('shop/web', '1.0', { version: '1.0.0', revision: 'aaa' });
  const pod = await bed.kubelet.runPod({
    namespace: 'shop', name: 'web-7d9c-abcde', owner: { kind: 'ReplicaSet', name: 'web-7d9c', templateHash: '7d9c' },
    containers: [{ name: 'web', image: img.ref, imagePullPolicy: 'IfNotPresent' }],
  });
  console.log(JSON.stringify({ img, pod }, null, 2));
} finally {
  await bed.stop();
}
