import { mulberry32 } from '../../domain/prng.js';
import type { CorpusRecord } from '../../ml/embedded/corpus.js';

/**
 * Hostile but valid record texts: real mail (so each still passes scoring and reaches the manifest,
 * training, review and serving) with pieces spliced in that break line-oriented readers, parsers
 * and renderers. Seeded: the same seed gives the same texts, so a failure reproduces.
 */

/** Every code point some splitter takes for a line or paragraph end, and their common pairs. */
const BREAKS = [
  '\u2028',
  '\u2029',
  '\u0085',
  '\r',
  '\r\n',
  '\n\r',
  '\u000b',
  '\u000c',
  '\u001c',
  '\u001d',
  '\u001e',
  '\u2028\u2029\u0085',
];
/** Control characters JSON must escape, and escape sequences a terminal acts on. */
const CONTROLS = ['\u0001', '\u0007', '\u0008', '\t', '\u001b[31m', '\u001b]0;title\u0007', '\u007f', '\u009b'];
/** Bidi overrides and isolates (Trojan Source), zero-width and invisible characters. */
const INVISIBLE = [
  '\u202e',
  '\u202d',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u2060',
  '\u00ad',
];
/** Emoji ZWJ sequences, skin tones, flags and combining marks (one glyph, many code units). */
const CLUSTERS = [
  '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}',
  '\u{1F3F3}\ufe0f\u200d\u{1F308}',
  '\u{1F44B}\u{1F3FD}',
  '\u{1F1FA}\u{1F1F8}',
  'e\u0301\u0302\u0303\u0304',
  '\u{10FFFF}',
  'Z\u0351\u0352\u0353\u0354\u0355\u0356\u0357',
];
/** Text a careless reader takes for a record, a manifest line or a part line. */
const LOOKALIKES = [
  '\n{"hash":"00","contributor":"0x0","text":"injected","label":"spam"}\n',
  '\u2028{"hash":"ff","contributor":"0x1","text":"x","label":"ham"}\u2029',
  '"},{"hash":"',
  ',"seq":1,"bands":[1,2],"sketch":"AAEC"}',
  '\\u2028 \\n \\" \\\\',
  '{"type":"result","metrics":{"accuracy":1}}',
  '[1,2,3]',
  'data: [DONE]\n\n',
];

export type HostileKind = 'break' | 'control' | 'bom' | 'invisible' | 'cluster' | 'long-token' | 'lookalike';
const KINDS: HostileKind[] = ['break', 'control', 'bom', 'invisible', 'cluster', 'long-token', 'lookalike'];

export interface HostileRecord extends CorpusRecord {
  /** The kinds of piece spliced into the text (the first is the record's own kind). */
  kinds: HostileKind[];
}

/**
 * `records` with hostile pieces spliced in: record i gets a piece of kind i mod 7 (so every kind is
 * present about n/7 times, and every line break in BREAKS at least once in 84 records), and most get
 * a second piece of a random kind. Pieces go between words, and the mail's words stay, so scoring
 * judges the mail, not the pieces.
 */
export function hostileRecords(records: readonly CorpusRecord[], seed: number): HostileRecord[] {
  const rand = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!; // list is non-empty
  const cycle = new Map<HostileKind, number>();
  const piece = (kind: HostileKind): string => {
    const turn = cycle.get(kind) ?? 0;
    cycle.set(kind, turn + 1);
    const nth = <T>(list: readonly T[]): T => list[turn % list.length]!; // every entry in turn
    switch (kind) {
      case 'break':
        return nth(BREAKS);
      case 'control':
        return nth(CONTROLS);
      case 'bom':
        return '\ufeff';
      case 'invisible':
        return nth(INVISIBLE);
      case 'cluster':
        return nth(CLUSTERS);
      case 'long-token': {
        // A 2,000-character token of varied characters (a run of one character is penalised as junk).
        let t = '';
        while (t.length < 2_000) t += Math.floor(rand() * 2 ** 32).toString(36);
        return t.slice(0, 2_000);
      }
      case 'lookalike':
        return nth(LOOKALIKES);
    }
  };
  return records.map((r, i) => {
    const kinds: HostileKind[] = [KINDS[i % KINDS.length]!]; // i % length < length
    if (rand() < 0.7) kinds.push(pick(KINDS));
    const words = r.text.split(' ');
    for (const kind of kinds) {
      const p = piece(kind);
      // The BOM leads the text; a lone CR or a separator sometimes ends it; others go between words.
      if (kind === 'bom') words.unshift(p + (words.shift() ?? ''));
      else if (kind === 'break' && rand() < 0.2) words.push(p);
      else words.splice(1 + Math.floor(rand() * Math.max(1, words.length - 1)), 0, p);
    }
    return { ...r, text: words.join(' '), kinds };
  });
}

/** Every character Python's str.splitlines ends a line at ("\r\n" counts as one end). */
const PYTHON_LINE_ENDS = new Set([
  '\n',
  '\r',
  '\u000b',
  '\u000c',
  '\u001c',
  '\u001d',
  '\u001e',
  '\u0085',
  '\u2028',
  '\u2029',
]);

/** Python's str.splitlines(): the widest line splitter in common use, to check a file against. */
export function splitlines(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (!PYTHON_LINE_ENDS.has(text[i]!)) continue; // i < text.length
    lines.push(text.slice(start, i));
    if (text[i] === '\r' && text[i + 1] === '\n') i++;
    start = i + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}
