// Writes examples/data/sine.csv: 500 points y = sin(x) + noise, x uniform in [−π, π], noise
// normal with standard deviation 0.1, from the runtime's seeded PRNG (seed 7), so the file is
// reproducible: `npx tsx examples/data/make-sine.ts`. The best possible mean squared error
// on it is the noise variance, 0.01.
import fs from 'node:fs';
import { Rng } from '../../runtime/index.ts';

export const SINE_NOISE = 0.1;
const COUNT = 500;

const rng = new Rng(7);
const lines = ['x,y'];
for (let i = 0; i < COUNT; i++) {
  const x = rng.range(-Math.PI, Math.PI);
  const y = Math.sin(x) + rng.normal(0, SINE_NOISE);
  lines.push(`${x.toFixed(5)},${y.toFixed(5)}`);
}
const file = new URL('sine.csv', import.meta.url);
fs.writeFileSync(file, `${lines.join('\n')}\n`);
console.log(`wrote ${COUNT} rows to ${file.pathname}`);
