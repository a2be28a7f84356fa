// The bundler plugin: `import * as net from './net.model.json?gradc'` compiles the model at
// build time into the module's JavaScript (the model file is watched: Vite's dev server
// recompiles it on change). One implementation on unplugin serves Vite, Rollup, Rolldown,
// esbuild and webpack. Types for the import: `gradc/plugin/client` (plugin/client.d.cts).
import fs from 'node:fs';
import path from 'node:path';
import { createUnplugin, type UnpluginInstance } from 'unplugin';
import { GradcError } from '../format/errors.ts';

const QUERY = '?gradc';

export interface GradcPluginOptions {
  /** Print each compiled model's file and parameter count (default false). */
  readonly verbose?: boolean;
}

export const gradc: UnpluginInstance<GradcPluginOptions | undefined, false> = createUnplugin(
  (options) => {
    // Vite's dev server asks for root-relative URLs (`/net.model.json?gradc`).
    let root = process.cwd();
    return {
      name: 'gradc',
      enforce: 'pre',
      vite: {
        configResolved(config) {
          root = config.root;
        },
      },
      resolveId(id, importer) {
        if (!id.endsWith(QUERY)) return null;
        const file = id.slice(0, -QUERY.length);
        if (file.startsWith('/') && !fs.existsSync(file)) return path.join(root, file) + QUERY;
        const base = importer !== undefined ? path.dirname(importer.split('?')[0]!) : root;
        return path.resolve(base, file) + QUERY;
      },
      loadInclude: (id) => id.endsWith(QUERY),
      async load(id) {
        const file = id.slice(0, -QUERY.length);
        this.addWatchFile(file);
        // Loaded here, not at the top: a bundler config that only lists the plugin stays fast.
        const { compileBytes } = await import('../index.ts');
        let bytes: Buffer;
        try {
          bytes = fs.readFileSync(file);
        } catch (e) {
          throw new Error(
            `gradc: ${file}: cannot read the model (${(e as NodeJS.ErrnoException).code})`,
          );
        }
        try {
          const compiled = await compileBytes(bytes, file, 'js');
          if (options?.verbose)
            console.log(`gradc: ${file}: ${compiled.c.shapes.paramCount} parameters`);
          return compiled.code;
        } catch (e) {
          // The same one line as the CLI: the file, the JSON path, what is wrong. Thrown, not
          // this.error(): every bundler reports a thrown error with the plugin and module.
          if (e instanceof GradcError) throw new Error(`gradc: ${e.message}`);
          throw e;
        }
      },
    };
  },
);

export const vite = gradc.vite;
export const rollup = gradc.rollup;
export const rolldown = gradc.rolldown;
export const esbuild = gradc.esbuild;
export const webpack = gradc.webpack;
export default gradc;
