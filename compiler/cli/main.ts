// Command-line interface. commander parses arguments (subcommands, help, errors) so that we
// don't hand-roll option parsing; every user error becomes one line and exit code 2.
import { Command, CommanderError } from 'commander';
import path from 'node:path';
import { compileBytes, formatFor } from '../index.ts';
import { printProgram } from '../ir/printer.ts';
import { lower, passNames, schedule } from '../pipeline.ts';
import { escapeControls, GradcError } from '../format/errors.ts';
import { parseModelBytes } from '../format/parse.ts';
import { VERSION } from '../version.ts';
import { runCheck } from './check.ts';
import { checkOutputPath, readModelFile, writeAtomic } from '../io/files.ts';
import { wroteLine } from '../io/report-line.ts';
import { generateExamples } from './generate.ts';
import { runDemo } from './demo.ts';
import { describeSchedule } from './describe.ts';
import { registerPredict } from './predict.ts';
import { registerTrain } from './train.ts';
import { Exit } from './exit.ts';

function oneLine(s: string): string {
  return s.replace(/[\r\n\u2028\u2029]+/g, ' ');
}

function buildProgram(out: (s: string) => void): Command {
  const program = new Command('gradc')
    .description('Symbolic gradient compiler: model.json → allocation-free TypeScript')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) });

  program
    .command('compile')
    .description(
      'compile a model file to a TypeScript (.ts) or plain ESM JavaScript (.js, .mjs) module',
    )
    .argument('<model>', 'model file (JSON)')
    .option(
      '-o, --out <file>',
      'output file; the extension picks TypeScript or JavaScript (default: TypeScript to stdout)',
    )
    .option('--quiet', 'do not print the "wrote" line')
    .action(async (model: string, o: { out?: string; quiet?: boolean }) => {
      if (o.out) checkOutputPath(o.out, model);
      const compiled = await compileBytes(
        readModelFile(model),
        model,
        o.out ? formatFor(o.out) : 'ts',
      );
      if (o.out) {
        writeAtomic(o.out, compiled.code);
        if (!o.quiet) out(wroteLine([o.out]));
      } else out(compiled.code);
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
    .description(`print the IR after a pass (${passNames.join(', ')})`)
    .argument('<model>', 'model file (JSON)')
    .option('--after <pass>', 'pass name', 'optimize')
    .option('--program <name>', 'forward, loss or gradient (default: all)')
    .action(async (model: string, o: { after: string; program?: string }) => {
      if (!passNames.includes(o.after))
        throw new GradcError(
          '--after',
          o.after,
          `unknown pass; expected one of ${passNames.join(', ')}`,
        );
      const spec = await parseModelBytes(readModelFile(model), model);
      const dtype = spec.precision;
      const c = lower(spec, { until: o.after === 'schedule' ? undefined : o.after });
      const programs = c.programs.filter((p) => !o.program || p.name === o.program);
      if (o.after === 'schedule') {
        const { schedules, workSize } = schedule(c);
        for (const p of programs) {
          const sp = schedules[p.name];
          if (sp) out(`${describeSchedule(sp)}\n`);
        }
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

  registerTrain(program, out);
  registerPredict(program, out);

  program
    .command('demo')
    .description('compile and check the bundled examples, then train XOR and Iris')
    .action(async () => {
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
    await buildProgram(out).parseAsync([...argv], { from: 'user' });
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
