import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { registryConformance } from '../conformance/registry.js';
import { startRegistry, type RunningRegistry } from '../../testbed/registry.js';

let reg: RunningRegistry;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tagdrift-regconf-'));
  reg = await startRegistry(dir, 'conformance');
});
afterAll(async () => {
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

registryConformance('docker-registry (distribution 2.8)', () => ({ url: reg.url, host: reg.host }));
