import type { ImplFactory } from '../impl.ts';
import { brainImpl } from './brain.ts';
import { jaxImpl } from './jax.ts';
import { tfjsImpl } from './tfjs.ts';

/** The libraries a user would pick instead of gradc, in table order. */
export const PEERS: readonly ImplFactory[] = [
  tfjsImpl('cpu'),
  tfjsImpl('wasm'),
  jaxImpl,
  brainImpl,
];
