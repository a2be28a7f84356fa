// `node --import ./trace-imports.mjs …` appends every module URL the process loads to the file
// named by GRADC_TRACE_IMPORTS: the tests prove which commands load no compiler code.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.GRADC_TRACE_IMPORTS, url + '\\n');
  return next(url, context);
}`),
);
