// Lower-cased word tokens (runs of letters and digits), shared by quality and relevance, and the
// normalised text MinHash and the exact key hash (see analysed-text.ts for one pass serving all four).
// ASCII input, the common case, takes a plain-class split, several times cheaper than matching
// Unicode property escapes; both paths give the same tokens on ASCII text.
const ASCII_RE = /^[^\u0080-\uffff]*$/; // every UTF-16 code unit is below 0x80
const ASCII_SPLIT_RE = /[^a-z0-9]+/;
const TOKEN_RE = /[\p{L}\p{N}]+/gu;

export function wordTokens(text: string, limit = Number.MAX_SAFE_INTEGER): string[] {
  const lower = text.toLowerCase();
  if (ASCII_RE.test(lower)) {
    const parts = lower.split(ASCII_SPLIT_RE);
    const out: string[] = [];
    for (const p of parts) {
      if (p.length === 0) continue;
      out.push(p);
      if (out.length >= limit) break;
    }
    return out;
  }
  const out: string[] = [];
  for (const m of lower.matchAll(TOKEN_RE)) {
    out.push(m[0]);
    if (out.length >= limit) break;
  }
  return out;
}

/** Case-folded, NFKC-normalised, punctuation and symbols dropped, whitespace collapsed. */
export function normaliseText(text: string): string {
  // ASCII fast path (most records): NFKC is the identity there and a plain class is much cheaper
  // than Unicode property escapes. Both paths give the same result on ASCII input.
  if (ASCII_RE.test(text)) return text.toLowerCase().replace(NON_ALNUM_ASCII_RE, ' ').trim();
  return text.normalize('NFKC').toLowerCase().replace(NON_ALNUM_RE, ' ').trim();
}
const NON_ALNUM_ASCII_RE = /[^a-z0-9]+/g;
const NON_ALNUM_RE = /[^\p{L}\p{N}]+/gu;
