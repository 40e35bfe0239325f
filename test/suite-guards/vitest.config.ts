import { defineConfig } from 'vitest/config';

// The throwaway runs of suite-guards.test.ts: the unit tier's guards around one fixture.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/suite-guards/*.fixture.ts'],
    globalSetup: ['test/fakes/allow-list-guard.ts'],
    setupFiles: [process.env['GUARD_NO_PER_TEST'] ? 'test/suite-guards/no-op.ts' : 'test/fakes/allow-list-check.ts'],
  },
});
