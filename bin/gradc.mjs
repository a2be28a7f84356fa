#!/usr/bin/env node
// The gradc command. In a checkout (the TypeScript sources are beside this file) it runs
// them through tsx, so edits need no rebuild; an installed package runs the compiled dist/.
import { existsSync, readFileSync } from 'node:fs';

const args = process.argv.slice(2);
// `--version` loads nothing but package.json: start-up time is what a user waits for.
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  const source = new URL('../compiler/cli/main.ts', import.meta.url);
  let main;
  if (existsSync(source)) {
    const { register } = await import('tsx/esm/api');
    // The checkout's tsconfig maps `@gradc/runtime` to runtime/ sources, from any cwd.
    register({ tsconfig: new URL('../tsconfig.json', import.meta.url).pathname });
    ({ main } = await import(source.href));
  } else {
    ({ main } = await import('../dist/cli/main.js'));
  }
  process.exitCode = await main(args);
}
