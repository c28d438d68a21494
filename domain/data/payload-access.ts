// Who may read a record's payload, and text derived from it. Hashes are public (leaderboards,
// per-contributor lists, proofs); payloads are not, by the Datanet's visibility:
// - public: an undecided or refused record may be sensitive, so it is served to its contributor and
//   to those who curate its Datanet only; once accepted into a Datanet that anyone may contribute
//   to (no credentials, no assessment), it is part of a public dataset;
// - members: records are encrypted; the Datanet's curators and members (accounts with a record it
//   took: accepted or awaiting approval) read any of them, a contributor their own, sealed to the
//   reader through a logged worker read, never in plaintext over HTTP;
// - private: compute-only; only those who curate read records (the curator view, sealed and logged).
// Scoring reasons and curators' decision reasons are text about a record: for an encrypted Datanet
// they go to whoever may read the record and to its contributor. The data workers are not asked.
import { accessOf, isGated, mayCurate } from './datanet-access.js';
import { isEncrypted, visibilityOf } from './datanet-spec.js';

/** A copy of the record: the Datanet that holds it, who sent it there and its status. */
export interface PayloadCopy {
  status: string;
  contributor: string;
  datanet: { spec: unknown; owner: string; curators: readonly string[] };
}

/** Why a record of an encrypted Datanet was opened for a reader (the access log's purpose). */
export type ReadPurpose = 'curator-view' | 'member-view';

/** Statuses of the records that make their contributor a member of a members Datanet. */
export const MEMBER_STATUSES: readonly string[] = ['accepted', 'awaiting-approval'];

/** Anyone may read this copy, signed or not, in plaintext. */
export function isPublicPayload(copy: PayloadCopy): boolean {
  return (
    visibilityOf(copy.datanet.spec) === 'public' && copy.status === 'accepted' && !isGated(accessOf(copy.datanet.spec))
  );
}

/** `reader` (a verified address) may read this copy of a public Datanet's record in plaintext. */
export function mayReadPayload(copy: PayloadCopy, reader: string): boolean {
  if (isEncrypted(visibilityOf(copy.datanet.spec))) return false;
  return (
    isPublicPayload(copy) || copy.contributor === reader || mayCurate(reader, copy.datanet.owner, copy.datanet.curators)
  );
}

export type SealedRead = { ok: true; purpose: ReadPurpose } | { ok: false; reason: string };

/**
 * Whether `reader` may have this copy of an encrypted Datanet's record opened and sealed to them.
 * `member` says whether the reader holds a record of MEMBER_STATUSES in that Datanet (a query).
 */
export function sealedReadOf(copy: PayloadCopy, datanetId: string, reader: string, member: boolean): SealedRead {
  const visibility = visibilityOf(copy.datanet.spec);
  if (!isEncrypted(visibility))
    return { ok: false, reason: `datanet ${datanetId} is public: its records are not encrypted (read the payload)` };
  if (mayCurate(reader, copy.datanet.owner, copy.datanet.curators)) return { ok: true, purpose: 'curator-view' };
  if (visibility === 'private')
    return {
      ok: false,
      reason: `datanet ${datanetId} is private (compute-only): only its owner and curators read records, through the logged curator view`,
    };
  if (member || copy.contributor === reader) return { ok: true, purpose: 'member-view' };
  return {
    ok: false,
    reason: `datanet ${datanetId} is members-only: ${reader} is neither its owner, a curator, the record's contributor nor a contributor with an accepted record there`,
  };
}

/** `reader` (a verified address, or undefined when unsigned) may see text derived from this copy (scoring and curation reasons). */
export function mayReadDerivedText(copy: PayloadCopy, reader: string | undefined): boolean {
  if (!isEncrypted(visibilityOf(copy.datanet.spec))) return true;
  if (reader === undefined) return false;
  return copy.contributor === reader || mayCurate(reader, copy.datanet.owner, copy.datanet.curators);
}
