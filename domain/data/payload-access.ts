// Who may read a record's payload. Hashes are public (leaderboards, per-contributor lists, proofs),
// payloads are not: an undecided or refused record may be sensitive (a clinical Datanet), so it is
// served to its contributor and to those who curate its Datanet only. Once accepted into a Datanet
// that anyone may contribute to (no credentials, no assessment), it is part of a public dataset.
// The data workers read packs from S3 and are not asked.
import { accessOf, isGated, mayCurate } from './datanet-access.js';

/** A copy of the record: the Datanet that holds it, who sent it there and its status. */
export interface PayloadCopy {
  status: string;
  contributor: string;
  datanet: { spec: unknown; owner: string; curators: readonly string[] };
}

/** Anyone may read this copy, signed or not. */
export function isPublicPayload(copy: PayloadCopy): boolean {
  return copy.status === 'accepted' && !isGated(accessOf(copy.datanet.spec));
}

/** `reader` (a verified address) may read this copy. */
export function mayReadPayload(copy: PayloadCopy, reader: string): boolean {
  return (
    isPublicPayload(copy) || copy.contributor === reader || mayCurate(reader, copy.datanet.owner, copy.datanet.curators)
  );
}
