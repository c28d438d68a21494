import { EnvelopeError } from './envelope/sealed-box.js';
import { decryptWith, encryptFor } from './envelope/record-envelope.js';

/**
 * The manifest line of a record of an encrypted Datanet (part files, dataset manifests, held-out
 * sets): the content hash, the contributor and the Datanet stay in the clear, so Merkle proofs,
 * attribution and the dataset build work without opening anything; the record's fields a model
 * reads (text, label, response) are one box under the record's own data key (encryptFor,
 * AES-256-GCM). Erasure destroys that data key, so every line of the record in every earlier
 * manifest becomes unreadable with it, while its hash still verifies.
 *
 *   {"hash":"…","contributor":"…","datanet":"…","sealed":"<base64 box>"}
 *
 * The box's context (its additional data) is the line's hash, contributor and Datanet: a box moved
 * to another line, or a line whose contributor was rewritten to divert attribution, does not open.
 */

/** What the box holds: the fields of a manifest record a trainer reads. */
export interface SealedFields {
  text: string;
  label: string;
  response?: string;
}

/** A sealed line's clear part. */
export interface SealedLineHead {
  hash: string;
  contributor: string;
  datanet: string;
}

export interface SealedLine extends SealedLineHead {
  sealed: string;
}

export class SealedLineError extends Error {}

/** The context a line's box is made for (encryptFor's additional data). */
export const lineContext = (h: SealedLineHead) => `manifest-line\0${h.datanet}\0${h.hash}\0${h.contributor}`;

/** The sealed manifest fields of a record, the head first (the order a manifest line keeps them in). */
export function sealFields(dataKey: Buffer, head: SealedLineHead, fields: SealedFields): SealedLine {
  const body = JSON.stringify({
    text: fields.text,
    label: fields.label,
    ...(fields.response !== undefined ? { response: fields.response } : {}),
  });
  return {
    hash: head.hash,
    contributor: head.contributor,
    datanet: head.datanet,
    sealed: encryptFor(dataKey, Buffer.from(body, 'utf8'), lineContext(head)).toString('base64'),
  };
}

/** A sealed line's box as the ciphertext and context a worker's opener takes (RecordOpener.openKeyed). */
export const boxOf = (line: SealedLine) => ({
  hash: line.hash,
  ciphertext: Buffer.from(line.sealed, 'base64'),
  context: lineContext(line),
});

/** The fields of an opened box. */
export function fieldsOf(line: SealedLineHead, opened: Buffer): SealedFields {
  const f = JSON.parse(opened.toString('utf8')) as Partial<SealedFields>;
  if (typeof f.text !== 'string' || typeof f.label !== 'string')
    throw new SealedLineError(`sealed line of ${line.hash} holds no text/label`);
  return {
    text: f.text,
    label: f.label,
    ...(typeof f.response === 'string' ? { response: f.response } : {}),
  };
}

/** Opens a sealed line's box with the record's data key; a tampered or moved line, or a wrong key, is refused. */
export function openFields(dataKey: Buffer, line: SealedLine): SealedFields {
  const box = boxOf(line);
  try {
    return fieldsOf(line, decryptWith(dataKey, box.ciphertext, box.context));
  } catch (err) {
    if (!(err instanceof EnvelopeError)) throw err;
    throw new SealedLineError(`sealed line of ${line.hash} does not open: ${err.message}`);
  }
}

/** A parsed manifest line as a sealed line, or undefined when it is a clear one. */
export function asSealedLine(parsed: unknown): SealedLine | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const l = parsed as Partial<SealedLine>;
  if (typeof l.sealed !== 'string') return undefined;
  if (typeof l.hash !== 'string' || typeof l.contributor !== 'string' || typeof l.datanet !== 'string')
    throw new SealedLineError('a sealed line lacks hash/contributor/datanet');
  return { hash: l.hash, contributor: l.contributor, datanet: l.datanet, sealed: l.sealed };
}

/** Whether a manifest's records are sealed, judged by its first line (a manifest is all one or the other). */
export function isSealedManifest(body: Buffer | string): boolean {
  const text = typeof body === 'string' ? body.slice(0, 4096) : body.subarray(0, 4096).toString('utf8');
  const first = text.split('\n').find((l) => l.trim());
  return first !== undefined && /^\{"hash":"[0-9a-f]*","contributor":"[^"]*","datanet":"[^"]*","sealed":"/.test(first);
}
