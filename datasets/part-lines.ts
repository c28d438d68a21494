// Part files (one per scoring batch, NDJSON) carry each passing record with the manifest's fields
// first, in the manifest's order, and the dedupe pass's fields (seq, bands, sketch) after them. The
// dataset build then cuts each line's manifest prefix instead of parsing and re-serialising it:
// the prefix is byte for byte the manifest line of the fields alone (storage/jsonl.ts's format).

// An encrypted Datanet's part lines carry the sealed manifest fields instead (domain/data/sealed-lines.ts:
// hash, contributor and Datanet in the clear, text, label and response in one box), and the same
// dedupe fields after them.

import { jsonLine } from '../storage/jsonl.js';
import type { SealedLine } from '../domain/data/sealed-lines.js';

/** A public Datanet's manifest fields. */
interface ClearFields {
  hash: string;
  contributor: string;
  text: string;
  label: string;
  /** Generation Datanets: the reference response (absent for classification). */
  response?: string;
}

export type PartManifestFields = ClearFields | SealedLine;

/**
 * A part file line: a record that passed scoring, as the manifest will carry it. An encrypted
 * Datanet's part file also keeps the sealed lines of records scoring refused (`refused`, no bands):
 * the dedupe pass skips them, and a curator's approval finds its line there.
 */
export type PartRecord = PartManifestFields & {
  seq: number;
  /** LSH and exact band keys, so the dedupe pass need not recompute signatures. */
  bands: number[];
  /** The record's b-bit sketch (base64), so the dedupe pass need not read it back from Postgres. */
  sketch: string;
  refused?: true;
};

/** The dedupe fields of a refused record's line. */
export const REFUSED = { bands: [] as number[], sketch: '', refused: true as const };

/** The manifest's fields of a part record, in the manifest's order. */
const manifestFieldsOf = (p: PartRecord) =>
  'sealed' in p
    ? { hash: p.hash, contributor: p.contributor, datanet: p.datanet, sealed: p.sealed }
    : {
        hash: p.hash,
        contributor: p.contributor,
        text: p.text,
        label: p.label,
        ...(p.response !== undefined ? { response: p.response } : {}),
      };

/** The manifest line of a part record (what the dataset build writes). */
export function manifestLineOf(p: PartRecord): string {
  return jsonLine(manifestFieldsOf(p));
}

/** A part record as one line: manifest fields first (manifestLineOf's order), then seq, bands, sketch. */
export function partLineOf(p: PartRecord): string {
  return jsonLine({
    ...manifestFieldsOf(p),
    seq: p.seq,
    bands: p.bands,
    sketch: p.sketch,
    ...(p.refused ? { refused: true } : {}),
  });
}

const HEAD = '{"hash":"';
const TAIL = ',"seq":';

/**
 * The record's hash and manifest line from a part line, without parsing it. Only seq (a number),
 * bands (numbers) and sketch (base64) follow the manifest fields, so the last ',"seq":' is the
 * boundary whatever the text holds (a sealed line's box is base64, which never holds it).
 */
export function manifestOfPartLine(line: string): { hash: string; line: string } {
  const end = line.lastIndexOf(TAIL);
  if (!line.startsWith(HEAD) || end < 0) throw new Error(`not a part line: ${line.slice(0, 40)}`);
  return { hash: line.slice(HEAD.length, line.indexOf('"', HEAD.length)), line: line.slice(0, end) + '}' };
}
