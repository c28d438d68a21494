// One record's text, tokenised once for every scorer that reads it: quality (distinct-word ratio),
// relevance (term counts), MinHash (word shingles) and the exact-duplicate key all split the same
// text into runs of letters and digits. On ASCII text, the common case, those four splits are the
// same split: wordTokens' tokens, and normaliseText's result is those tokens joined by one space.
// Text with any other character keeps each scorer's own path (NFKC, Unicode lower-casing and
// property classes differ between them there), so results are bit-identical either way.
import { normaliseText, wordTokens } from './tokenize.js';

const ASCII_RE = /^[^\u0080-\uffff]*$/; // every UTF-16 code unit is below 0x80
const ASCII_SPLIT_RE = /[^a-z0-9]+/;

export class AnalysedText {
  /** Every UTF-16 code unit is below 0x80 (tested on the text itself, before lower-casing). */
  readonly ascii: boolean;
  private tokenCache: string[] | undefined;
  private normCache: string | undefined;

  constructor(readonly text: string) {
    this.ascii = ASCII_RE.test(text);
  }

  /** wordTokens(text): lower-cased runs of letters and digits, all of them. */
  get tokens(): readonly string[] {
    if (this.tokenCache === undefined) {
      if (this.ascii) {
        const parts = this.text.toLowerCase().split(ASCII_SPLIT_RE);
        // split leaves at most one empty part at each end (a leading or trailing separator).
        if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
        if (parts.length > 0 && parts[0] === '') parts.shift();
        this.tokenCache = parts;
      } else this.tokenCache = wordTokens(this.text);
    }
    return this.tokenCache;
  }

  /** normaliseText(text): what MinHash shingles and the exact-duplicate key hash. */
  get normalised(): string {
    if (this.normCache === undefined) this.normCache = this.ascii ? this.tokens.join(' ') : normaliseText(this.text);
    return this.normCache;
  }
}
