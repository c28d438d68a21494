// Cheap, language-agnostic quality signals for one contributed text. Each signal yields a factor in
// [0, 1]; the score is their product, so independent defects compound, and every factor below 1
// adds a human-readable reason. Single linear pass over the text plus one tokenisation; no I/O.
//
// The penalties are deliberately moderate for stylistic signals (uppercase, URLs) because in some
// Datanets (an email-spam classifier) shouting and links ARE the data; they are strong for signals
// of junk in any domain (no letters, keyboard mashing, the same words over and over, empty text).

import type { AnalysedText } from './analysed-text.js';
import { wordTokens } from './tokenize.js';

export interface QualityOptions {
  /** Texts shorter than this (characters, trimmed) are penalised. */
  minChars?: number;
  /** Texts longer than this are penalised (they are usually dumps, not examples). */
  maxChars?: number;
}

export interface QualityResult {
  score: number;
  reasons: string[];
}

export const QUALITY_DEFAULTS: Required<QualityOptions> = { minChars: 20, maxChars: 20_000 };

/** Runs of the same non-space, non-digit character at least this long count as "repeated". */
const RUN_MIN = 5;
/** Distinct-token ratio is measured over this many leading tokens (ratio falls with length). */
const TOKEN_WINDOW = 200;
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
const LETTER_RE = /\p{L}/u;
const UPPER_RE = /\p{Lu}/u;

const isLetterCode = (c: number): boolean =>
  c < 128 ? (c >= 65 && c <= 90) || (c >= 97 && c <= 122) : LETTER_RE.test(String.fromCodePoint(c));
const round = (x: number): number => Math.round(x * 1000) / 1000;
const pct = (x: number): string => `${Math.round(x * 100)}%`;

/**
 * `analysed`, when given, is the same text already tokenised (see analysed-text.ts): its tokens
 * are reused where they equal this function's own (ASCII text within the token window's prefix).
 */
export function qualityScore(text: string, opts: QualityOptions = {}, analysed?: AnalysedText): QualityResult {
  const { minChars, maxChars } = { ...QUALITY_DEFAULTS, ...opts };
  const t = text.trim();
  if (t.length === 0) return { score: 0, reasons: ['empty text'] };
  const reasons: string[] = [];
  let score = 1;
  const penalise = (factor: number, reason: string): void => {
    score *= Math.max(0, Math.min(1, factor));
    reasons.push(reason);
  };

  // Length.
  if (t.length < minChars)
    penalise(0.2 + 0.5 * (t.length / minChars), `too short: ${t.length} characters (minimum ${minChars})`);
  else if (t.length > maxChars) penalise(0.6, `too long: ${t.length} characters (maximum ${maxChars})`);

  // One pass: letters, uppercase letters, non-space characters, repeated-character runs.
  // (Kept free of closures: variables captured by a closure live in a heap context in V8, which
  // makes this per-character loop several times slower.)
  let nonSpace = 0;
  let letters = 0;
  let upper = 0;
  let runChars = 0;
  let letterRunChars = 0;
  let longestRun = 0;
  let longestRunCode = 0;
  let prev = -1;
  let run = 0;
  const len = t.length;
  for (let i = 0; i <= len; i++) {
    // i === len is a sentinel that closes the last run.
    let c = i < len ? t.charCodeAt(i) : -2;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      c = t.codePointAt(i) as number;
      i++;
    }
    const isSpace = c === 32 || (c >= 9 && c <= 13) || c === 0xa0;
    if (c >= 0 && !isSpace) {
      nonSpace++;
      if (c < 128) {
        if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
          letters++;
          if (c <= 90) upper++;
        }
      } else {
        const ch = String.fromCodePoint(c);
        if (LETTER_RE.test(ch)) {
          letters++;
          if (UPPER_RE.test(ch)) upper++;
        }
      }
    }
    const runnable = c >= 0 && !isSpace && !(c >= 48 && c <= 57);
    if (runnable && c === prev) {
      run++;
      continue;
    }
    if (run >= RUN_MIN) {
      runChars += run;
      if (isLetterCode(prev)) letterRunChars += run;
      if (run > longestRun) {
        longestRun = run;
        longestRunCode = prev;
      }
    }
    run = runnable ? 1 : 0;
    prev = runnable ? c : -1;
  }
  const longestRunChar = longestRun > 0 ? String.fromCodePoint(longestRunCode) : '';

  // Alphabetic ratio: mostly digits, symbols or markup is rarely useful text.
  const alphaRatio = nonSpace === 0 ? 0 : letters / nonSpace;
  if (alphaRatio < 0.6)
    penalise(alphaRatio / 0.6, `low alphabetic ratio: ${pct(alphaRatio)} of characters are letters`);

  // Repeated-character runs ("!!!!!!", "aaaaaaa"). A few separator lines ("-----", ">>>>>") are
  // normal formatting, so punctuation runs count only beyond 5% of the text; letter runs always do.
  const runFrac = nonSpace === 0 ? 0 : runChars / nonSpace;
  if (letterRunChars > 0 || runFrac > 0.05) {
    const factor = Math.min(letterRunChars > 0 ? 0.85 : 0.95, 1 - 3 * runFrac);
    penalise(
      Math.max(0.1, factor),
      `repeated characters: ${pct(runFrac)} of characters in runs, longest ${longestRun} x "${longestRunChar}"`,
    );
  }

  // Excessive uppercase (only meaningful with enough letters).
  if (letters >= 20) {
    const upperRatio = upper / letters;
    if (upperRatio > 0.5) penalise(1 - (upperRatio - 0.5), `excessive uppercase: ${pct(upperRatio)} of letters`);
  }

  // URL density: share of non-space characters inside URLs.
  let urlChars = 0;
  let urls = 0;
  for (const m of t.matchAll(URL_RE)) {
    urls++;
    urlChars += m[0].length;
  }
  if (urls > 0 && nonSpace > 0) {
    const share = urlChars / nonSpace;
    if (share > 0.35)
      penalise(Math.max(0.1, 1 - 1.5 * (share - 0.35)), `URL-heavy: ${urls} URL(s), ${pct(share)} of characters`);
  }

  // Distinct-token ratio over a fixed window: spam-like repetition of the same few words.
  // (Tokenise a prefix only: TOKEN_WINDOW tokens rarely need more than 30 characters each.)
  // On ASCII text trimming removes no token characters, so when no prefix is cut the window is the
  // first TOKEN_WINDOW of the whole text's tokens.
  const tokens =
    analysed?.ascii && analysed.text === text && t.length <= TOKEN_WINDOW * 30
      ? analysed.tokens.slice(0, TOKEN_WINDOW)
      : wordTokens(t.length > TOKEN_WINDOW * 30 ? t.slice(0, TOKEN_WINDOW * 30) : t, TOKEN_WINDOW);
  if (tokens.length >= 10) {
    const distinct = new Set(tokens).size / tokens.length;
    // Natural prose of 10-200 words keeps well above 0.4 distinct; below that it is repetition.
    const floor = 0.4;
    if (distinct < floor)
      penalise(0.15 + 0.85 * (distinct / floor) ** 2, `repetitive: only ${pct(distinct)} distinct words`);
  }

  return { score: round(score), reasons };
}
