// Pure data-collection scoring library (no I/O): spec validation, duplicate detection, quality,
// relevance, record scoring, Merkle commitments and contributor attribution weights.
export * from './datanet-spec.js';
export * from './merkle.js';
export * from './minhash.js';
export * from './quality.js';
export * from './relevance.js';
export * from './attribution-weights.js';
export * from './deposits.js';
export * from './datanet-access.js';
export * from './score-record.js';
