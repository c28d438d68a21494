import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The manifest line of a record of an encrypted Datanet (part files, dataset manifests, held-out
 * sets): the content hash, the contributor and the Datanet stay in the clear, so Merkle proofs,
 * attribution and the dataset build work without opening anything; the record's fields a model
 * reads (text, label, response) are one AES-256-GCM box under a key derived from the record's own
 * data key. Erasure destroys that data key, so every line of the record in every earlier manifest
 * becomes unreadable with it, while its hash still verifies.
 *
 *   {"hash":"…","contributor":"…","datanet":"…","sealed":"<base64 iv|ciphertext|tag>"}
 *
 * The AAD binds the box to its line's hash, contributor and Datanet: a box moved to another line,
 * or a line whose contributor was rewritten to divert attribution, does not open.
 */

export const SEALED_LINE_FORMAT = 'commons-line/1';

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

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The line key: the record's data key is never used directly for a second kind of box. */
function lineKey(dataKey: Buffer): Buffer {
  if (dataKey.length !== 32) throw new SealedLineError(`a record data key has 32 bytes, got ${dataKey.length}`);
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), SEALED_LINE_FORMAT, 32));
}

const aadOf = (h: SealedLineHead) => Buffer.from(`${SEALED_LINE_FORMAT}\0${h.datanet}\0${h.hash}\0${h.contributor}`);

/** The sealed manifest fields of a record, the head first (the order a manifest line keeps them in). */
export function sealFields(dataKey: Buffer, head: SealedLineHead, fields: SealedFields): SealedLine {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', lineKey(dataKey), iv);
  cipher.setAAD(aadOf(head));
  const body = JSON.stringify({
    text: fields.text,
    label: fields.label,
    ...(fields.response !== undefined ? { response: fields.response } : {}),
  });
  const ct = Buffer.concat([cipher.update(body, 'utf8'), cipher.final()]);
  return {
    hash: head.hash,
    contributor: head.contributor,
    datanet: head.datanet,
    sealed: Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64'),
  };
}

/** Opens a sealed line's box with the record's data key; a tampered line or a wrong key is refused. */
export function openFields(dataKey: Buffer, line: SealedLine): SealedFields {
  const box = Buffer.from(line.sealed, 'base64');
  if (box.length < IV_BYTES + TAG_BYTES) throw new SealedLineError(`sealed line of ${line.hash} is truncated`);
  const decipher = createDecipheriv('aes-256-gcm', lineKey(dataKey), box.subarray(0, IV_BYTES));
  decipher.setAAD(aadOf(line));
  decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
  let body: string;
  try {
    body = Buffer.concat([decipher.update(box.subarray(IV_BYTES, box.length - TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new SealedLineError(`sealed line of ${line.hash} does not open: tampered, moved, or not this record's key`);
  }
  const f = JSON.parse(body) as Partial<SealedFields>;
  if (typeof f.text !== 'string' || typeof f.label !== 'string')
    throw new SealedLineError(`sealed line of ${line.hash} holds no text/label`);
  return {
    text: f.text,
    label: f.label,
    ...(typeof f.response === 'string' ? { response: f.response } : {}),
  };
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
