import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

// The package, bundler, browser and README tests pack, install, build and start Chromium:
// they run after the others, so that their CPU use does not overlap the V8 tier tests
// (test/allocation-tier.test.ts), whose concurrent TurboFan jobs need a free core.
const HEAVY = [
  'test/package/**/*.test.ts',
  'test/plugin/**/*.test.ts',
  'test/browser-demo/**/*.test.ts',
  'test/export/**/*.test.ts',
  'test/readme.test.ts',
];

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
    // Several tests spawn fresh Node processes and wait for V8 to optimize; 2-core CI.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'core',
          include: ['test/**/*.test.ts'],
          exclude: HEAVY,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'package', include: HEAVY, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
