import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  // The compiler imports the runtime by package name; tests run both from source.
  resolve: {
    alias: [
      { find: /^@gradc\/runtime$/, replacement: `${root}runtime/index.ts` },
      { find: /^@gradc\/runtime\/browser$/, replacement: `${root}runtime/browser.ts` },
    ],
  },
  test: {
    root,
    include: ['test/**/*.test.ts'],
    // Several tests spawn fresh Node processes and wait for V8 to optimize; 2-core CI.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
