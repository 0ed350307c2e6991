import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/test-results.json' },
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      // Entry points run as child processes in the end-to-end tests, outside coverage's reach.
      exclude: ['src/**/*.test.ts', 'src/server.ts', 'src/worker.ts', 'src/cli.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: { lines: 85 },
    },
  },
});
