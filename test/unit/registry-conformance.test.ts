import { afterAll, beforeAll } from 'vitest';
import { FakeRegistry } from '../fakes/fake-registry.js';
import { registryConformance } from '../conformance/registry.js';

let fake: FakeRegistry;
beforeAll(async () => {
  fake = await new FakeRegistry().start();
});
afterAll(async () => fake.stop());

registryConformance('fake registry', () => ({ url: fake.url, host: fake.host }));
