import { defineConfig } from 'vitest/config';

// Two tiers: `unit` (fakes over real sockets, no root needed) and `integration`
// (a real containerd, real registries and a fake Kubernetes API on loopback;
// needs root and the Debian packages that .ci/run installs). `npm test` runs both.
export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/fakes/allow-list-guard.ts'],
          setupFiles: ['test/fakes/allow-list-check.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
