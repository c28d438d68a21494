/**
 * The tokens Commons' own models count and stream in: a word (letters and digits) or one other
 * character, each with the whitespace before it, so the pieces of a text concatenate back to it
 * exactly. The embedded models and the stand-in upstream share it; a real upstream counts its own.
 */
const PIECE_RE = /\s*(?:[\p{L}\p{N}]+|[^\s\p{L}\p{N}])|\s+$/gu;

export function textTokens(text: string): string[] {
  return text.match(PIECE_RE) ?? [];
}

/** Tokens of a conversation: each turn's content. */
export function countTokens(texts: readonly string[]): number {
  return texts.reduce((n, t) => n + textTokens(t).length, 0);
}
