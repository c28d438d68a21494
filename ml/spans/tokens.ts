/**
 * The tokens span matching compares: lower-cased word tokens (the RAG model's `wordTokens`, so
 * punctuation and spacing never break a span), each hashed to a u32 id. Hashed ids need no
 * vocabulary at train time and make an answer's tokens comparable with the index's whatever model
 * wrote the answer. 0 is reserved for the separator between records' texts, so a hash of 0 is
 * moved to 1 (one collision among 2^32).
 */
import { wordTokens } from '../../domain/data/tokenize.js';
import { fmix32 } from '../../domain/hash32.js';

export const SPAN_TOKENIZER = 'words-fnv1a-fmix32/1';

/** Separates texts in the index: never produced by `spanTokenIds`, so no span crosses it. */
export const SEPARATOR = 0;

export function tokenId(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return fmix32(h) || 1;
}

export function spanTokenIds(text: string): Uint32Array {
  const words = wordTokens(text);
  const out = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) out[i] = tokenId(words[i]!);
  return out;
}
