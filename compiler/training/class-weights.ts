// --class-weights: per-row weights that make each class count equally in the loss
// ("balanced", scikit-learn's n / (classes · count of the class)), or given by name.
import { GradcError, quote } from '../format/errors.ts';

export type ClassWeightsSpec = 'balanced' | ReadonlyMap<string, number>;

export function parseClassWeights(v: string): ClassWeightsSpec {
  if (v.trim() === 'balanced') return 'balanced';
  const map = new Map<string, number>();
  for (const part of v.split(',')) {
    const eq = part.lastIndexOf('=');
    const name = part.slice(0, eq).trim();
    const w = eq < 0 ? NaN : Number(part.slice(eq + 1));
    if (eq < 1 || !Number.isFinite(w) || w < 0 || part.slice(eq + 1).trim() === '') {
      throw new GradcError(
        '--class-weights',
        v,
        'expected balanced, or class=weight pairs such as setosa=1,virginica=2',
      );
    }
    map.set(name, w);
  }
  return map;
}

/** Weight of each row from its class index. Throws for a class name the data does not have. */
export function rowWeights(
  spec: ClassWeightsSpec,
  classOfRow: Int32Array,
  classes: readonly string[],
): Float64Array {
  const k = classes.length;
  const counts = new Array<number>(k).fill(0);
  for (const c of classOfRow) counts[c]!++;
  let perClass: number[];
  if (spec === 'balanced') {
    const present = counts.filter((c) => c > 0).length;
    perClass = counts.map((c) => (c > 0 ? classOfRow.length / (present * c) : 0));
  } else {
    for (const name of spec.keys()) {
      if (!classes.includes(name)) {
        throw new GradcError(
          '--class-weights',
          name,
          `no class ${quote(name)}; the classes are ${classes.map((c) => quote(c)).join(', ')}`,
        );
      }
    }
    perClass = classes.map((c) => spec.get(c) ?? 1);
  }
  return Float64Array.from(classOfRow, (c) => perClass[c]!);
}
