// The browser demo: `npm run demo:browser`. The gradc plugin compiles ../iris.model.json at
// build time; the runtime is used from its sources, as everywhere in this checkout (an app
// that installed the packages writes `import gradc from 'gradc/plugin'` and needs no alias).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { gradc } from '../../compiler/plugin/index.ts';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [gradc.vite()],
  worker: { format: 'es', plugins: () => [gradc.vite()] },
  resolve: {
    alias: {
      '@gradc/runtime': fileURLToPath(new URL('../../runtime/browser.ts', import.meta.url)),
    },
  },
});
