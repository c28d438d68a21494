/** A seeded pseudo-random source: the same seed draws the same numbers on every machine. */
export type Rng = () => number;

export { mulberry32 as seededRng } from '../../../domain/prng.js';
