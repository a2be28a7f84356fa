// Command-line interface. commander parses arguments (subcommands, help, errors) so that we
// don't hand-roll option parsing; every user error becomes one line and exit code 2.
// Start-up is what a user waits for on every call: this file loads only commander and the
// error type; each command imports what it needs when it runs, so `--help`, `schema` and
// `predict` from a compiled module never load the compiler.
import { Command, CommanderError } from 'commander';
import path from 'node:path';
import { escapeControls, GradcError } from '../format/errors.ts';
import { VERSION } from '../version.ts';
import { Exit } from './exit.ts';

/** The --backend value, or a usage error. */
function backendOption(v: string): 'auto' | 'js' | 'wasm' {
  if (v === 'auto' || v === 'js' || v === 'wasm') return v;
  throw new GradcError('--backend', v, 'unknown backend; expected auto, js or wasm');
}

/** One-line descriptions of the commands defined in their own files, for the top-level help
 * (test/package/cli-fast.test.ts checks they match the commands' own). */
export const LAZY_COMMANDS = {
  train: 'train a model on a CSV or JSON data file and save its weights',
  predict: 'run trained weights over a CSV or JSON data file; prints CSV predictions',
} as const;

function oneLine(s: string): string {
  return s.replace(/[\r\n\u2028\u2029]+/g, ' ');
}

async function buildProgram(out: (s: string) => void, argv: readonly string[]): Promise<Command> {
  const program = new Command('gradc')
    .description('Symbolic gradient compiler: model.json → allocation-free TypeScript')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) });

  program
    .command('compile')
    .description(
      'compile a model file to TypeScript (.ts, .mts), ESM JavaScript (.js, .mjs) or CommonJS (.cjs); JavaScript gets a .d.ts beside it',
    )
    .argument('<model>', 'model file (JSON)')
    .option(
      '-o, --out <file>',
      'output file; its extension (any case) picks the format (default: TypeScript to stdout)',
    )
    .option('--quiet', 'do not print the "wrote" line')
    .option(
      '--backend <name>',
      "batched entry points: auto, js or wasm (overrides the file's backend)",
    )
    .action(async (model: string, o: { out?: string; quiet?: boolean; backend?: string }) => {
      const { compileBytes, formatFor, declarationsPathFor } = await import('../index.ts');
      const { checkOutputPath, readModelFile, writeAtomic } = await import('../io/files.ts');
      const format = o.out ? formatFor(o.out) : 'ts';
      const dts = o.out && format !== 'ts' ? declarationsPathFor(o.out) : undefined;
      if (o.out) checkOutputPath(o.out, model);
      if (dts) checkOutputPath(dts, model);
      const backend = o.backend === undefined ? undefined : backendOption(o.backend);
      const compiled = await compileBytes(readModelFile(model), model, format, backend);
      if (!o.out) return out(compiled.code);
      if (dts && compiled.declarations !== undefined) writeAtomic(dts, compiled.declarations);
      writeAtomic(o.out, compiled.code);
      if (!o.quiet) {
        const { wroteLine } = await import('../io/report-line.ts');
        out(wroteLine(dts ? [o.out, dts] : [o.out]));
      }
    });

  program
    .command('check')
    .description(
      'verify the generated gradient: central differences, dot-product test and the IR interpreter',
    )
    .argument('<model>', 'model file (JSON)')
    .option('--samples <n>', 'random samples to check', '3')
    .option('--seed <n>', 'seed', '1')
    .option('--max-params <n>', 'parameters checked by finite differences per sample', '2000')
    .action(async (model: string, o: { samples: string; seed: string; maxParams: string }) => {
      const { compileBytes } = await import('../index.ts');
      const { readModelFile } = await import('../io/files.ts');
      const { runCheck } = await import('./check.ts');
      const compiled = await compileBytes(readModelFile(model), model, 'js');
      const r = await runCheck(compiled, {
        samples: Number(o.samples),
        seed: Number(o.seed),
        maxParams: Number(o.maxParams),
      });
      out(`${path.basename(model)}: ${compiled.c.shapes.paramCount} parameters\n`);
      for (const l of r.lines) out(`  ${l}\n`);
      out(r.ok ? 'gradient check passed\n' : 'gradient check FAILED\n');
      if (!r.ok) throw new Exit(1);
    });

  program
    .command('inspect')
    .description(
      'print the IR after a pass (build, the passes, batch: the batched entry points over their batch axis, schedule, or loops: the loop IR; see --after), or the WebAssembly kernels (--after wasm)',
    )
    .argument('<model>', 'model file (JSON)')
    .option('--after <pass>', 'pass name', 'optimize')
    .option('--program <name>', 'forward, loss or gradient (default: all)')
    .action(async (model: string, o: { after: string; program?: string }) => {
      const { lower, passNames, schedule } = await import('../pipeline.ts');
      const { printProgram } = await import('../ir/printer.ts');
      const { parseModelBytes } = await import('../format/parse.ts');
      const { readModelFile } = await import('../io/files.ts');
      const { batchBodies, describeLoops, describeSchedule } = await import('./describe.ts');
      const stages = [...passNames, 'loops', 'wasm'];
      if (!stages.includes(o.after))
        throw new GradcError(
          '--after',
          o.after,
          `unknown pass; expected one of ${stages.join(', ')}`,
        );
      const spec = await parseModelBytes(readModelFile(model), model);
      if (o.after === 'wasm') {
        const { describeWasm } = await import('../backends/wasm/describe.ts');
        return out(describeWasm(lower(spec)));
      }
      const dtype = spec.precision;
      const scheduled = o.after === 'schedule' || o.after === 'loops';
      const c = lower(spec, { until: scheduled ? undefined : o.after });
      const programs = c.programs.filter((p) => !o.program || p.name === o.program);
      if (o.after === 'batch') {
        // The batched entry points over their batch axis (`--program forward` / `gradient`
        // picks forwardBatch / gradientBatch).
        const { printBatched } = await import('../batch/axis.ts');
        for (const bp of Object.values(c.batched!))
          if (!o.program || bp.entry === `${o.program}Batch`) out(`${printBatched(bp, dtype)}\n`);
      } else if (scheduled) {
        const { schedules, batch, workSize } = schedule(c);
        const describe = o.after === 'loops' ? describeLoops : describeSchedule;
        for (const p of programs) {
          const sp = schedules[p.name];
          if (sp) out(`${describe(sp)}\n`);
        }
        for (const [name, s] of batchBodies(batch, o.program)) out(`${describe(s, name)}\n`);
        out(`workSize ${workSize}\n`);
      } else {
        for (const p of programs) out(`${printProgram(p, dtype)}\n`);
      }
    });

  program
    .command('generate')
    .description(
      'compile every examples/*.model.json into generated/*.ts (what the repository checks in)',
    )
    .option('--check', 'only report whether generated/ is up to date')
    .action(async (o: { check?: boolean }) => {
      const { generateExamples } = await import('./generate.ts');
      const stale = await generateExamples({ check: !!o.check, log: out });
      if (o.check && stale.length) throw new Exit(1);
    });

  program
    .command('schema')
    .description('print the JSON Schema of the model format')
    .action(async () => {
      const { modelJsonSchema } = await import('../format/schema.ts');
      out(`${JSON.stringify(modelJsonSchema(), null, 2)}\n`);
    });

  // train and predict define many options in their own files: loaded when they run (or for
  // their own --help); the top-level help lists them from LAZY_COMMANDS.
  const words = argv.filter((a) => !a.startsWith('-'));
  const invoked = words[0] === 'help' ? words[1] : words[0];
  if (invoked === 'train') (await import('./train.ts')).registerTrain(program, out);
  else program.command('train').description(LAZY_COMMANDS.train);
  if (invoked === 'predict') (await import('./predict.ts')).registerPredict(program, out);
  else program.command('predict').description(LAZY_COMMANDS.predict);

  program
    .command('export')
    .description(
      'write one standalone module with trained weights and predict(features, out?): no dependencies, Node or browser',
    )
    .argument('<model>', 'model file (JSON)')
    .requiredOption('--weights <file>', 'weights written by gradc train (with its .meta.json)')
    .requiredOption(
      '-o, --out <file>',
      'output module; .ts/.mts TypeScript, .js/.mjs ESM, .cjs CommonJS (JavaScript gets a .d.ts)',
    )
    .action(async (model: string, o: { weights: string; out: string }) => {
      const { runExport } = await import('./export.ts');
      await runExport({ model, ...o });
    });

  program
    .command('demo')
    .description('compile and check the bundled examples, then train XOR and Iris')
    .action(async () => {
      const { runDemo } = await import('./demo.ts');
      if (!(await runDemo(out))) throw new Exit(1);
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const out = (s: string) => void process.stdout.write(s);
  // `gradc inspect ... | head` closes the pipe early: that is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  try {
    const program = await buildProgram(out, argv);
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof CommanderError) {
      // Help and version are "errors" in commander's exitOverride mode.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof GradcError) {
      process.stderr.write(`gradc: ${escapeControls(oneLine(e.message))}\n`);
      return 2;
    }
    process.stderr.write(
      `gradc: internal error: ${oneLine((e as Error).message)} (please report this; GRADC_DEBUG=1 shows the stack)\n`,
    );
    if (process.env.GRADC_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
