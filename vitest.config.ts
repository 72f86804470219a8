import { defineConfig } from 'vitest/config';

// Integration tests start real pods: they run one file at a time so that
// timing windows (grace periods, reaping) are not skewed by a busy machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // After-hooks run last-registered first: a suite's own clean-up (stopping
    // its pods) runs before the shared check that nothing is left.
    sequence: { hooks: 'stack' },
    globalSetup: ['test/global-setup.ts'],
  },
});
