import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    // Several tests spawn fresh Node processes and wait for V8 to optimize; 2-core CI.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
