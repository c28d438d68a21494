// Who may contribute to a Datanet, who curates it, and what each record deposits: the `access`
// part of a Datanet spec, and the pure rules the API and the data activities apply to it.
//
// - credentials: attestations a contributor must hold, each a claim ("licensed clinician") signed
//   by one of the verifier keys the spec names, unexpired and not revoked by its verifier;
// - assessment: an entry test of gold items (published by the owner, answers never served) that a
//   contributor must pass with score >= minScore, in at most maxAttempts attempts. Neither an
//   attempt nor a refusal tells a score (a score oracle lets throwaway accounts learn the answers
//   item by item), and a failed attempt costs failedAttemptFee OPEN, paid to the treasury;
// - curation: curators (besides the owner) who approve or reject records with a reason, and
//   whether a record needs an approval to enter the dataset (requireApproval);
// - deposit: OPEN base units each record moves into the Datanet's deposit escrow at ingest,
//   refunded when the record is accepted and forfeited when it is not (domain/data/deposits.ts).
// Independent of the record shape: nothing here reads a payload.
import { Type, type Static } from '@sinclair/typebox';

const HEX_KEY = '^[0-9a-f]{64}$';
const ADDRESS = '^cm[0-9a-f]{40}$';
export const CLAIM_PATTERN = '^[A-Za-z0-9][A-Za-z0-9 ._:/-]{0,99}$';

export const CredentialRequirementSchema = Type.Object(
  {
    claim: Type.String({ pattern: CLAIM_PATTERN }),
    /** Ed25519 public keys (hex) whose attestations of this claim the Datanet accepts. */
    verifiers: Type.Array(Type.String({ pattern: HEX_KEY }), { minItems: 1, maxItems: 50 }),
  },
  { additionalProperties: false },
);

export const DatanetAccessSchema = Type.Object(
  {
    credentials: Type.Optional(Type.Array(CredentialRequirementSchema, { minItems: 1, maxItems: 10 })),
    assessment: Type.Optional(
      Type.Object(
        {
          minScore: Type.Number({ minimum: 0, maximum: 1 }),
          maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
          /** OPEN base units a failed attempt costs (to the treasury): what probing with throwaway accounts costs. */
          failedAttemptFee: Type.Optional(Type.String({ pattern: '^(0|[1-9][0-9]{0,29})$' })),
        },
        { additionalProperties: false },
      ),
    ),
    curation: Type.Optional(
      Type.Object(
        {
          curators: Type.Optional(Type.Array(Type.String({ pattern: ADDRESS }), { maxItems: 100 })),
          requireApproval: Type.Optional(Type.Boolean()),
          /** How long the collection waits after scoring for curators to decide (requireApproval only). */
          reviewMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 30 * 24 * 3600_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    deposit: Type.Optional(
      Type.String({ pattern: '^(0|[1-9][0-9]{0,29})$', description: 'OPEN base units per record' }),
    ),
  },
  { additionalProperties: false },
);
export type DatanetAccess = Static<typeof DatanetAccessSchema>;

export const DEFAULT_ASSESSMENT_ATTEMPTS = 3;
export const DEFAULT_CURATION_REVIEW_MS = 24 * 3600_000;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Cross-field checks on `spec.access` (shape included, so safe on untrusted input). [] when usable. */
export function validateAccess(access: unknown): string[] {
  if (access === undefined) return [];
  if (!isObj(access)) return ['spec.access must be an object'];
  const errors: string[] = [];
  for (const k of Object.keys(access))
    if (!['credentials', 'assessment', 'curation', 'deposit'].includes(k))
      errors.push(`spec.access: unknown property "${k}"`);
  const creds = access.credentials;
  if (creds !== undefined) {
    if (!Array.isArray(creds) || creds.length === 0) errors.push('spec.access.credentials must be a non-empty array');
    else {
      const seen = new Set<string>();
      creds.forEach((c: unknown, i) => {
        if (!isObj(c) || typeof c.claim !== 'string' || !new RegExp(CLAIM_PATTERN).test(c.claim))
          return errors.push(`spec.access.credentials[${i}].claim must match ${CLAIM_PATTERN}`);
        if (seen.has(c.claim)) errors.push(`spec.access.credentials: claim "${c.claim}" is required twice`);
        seen.add(c.claim);
        if (!Array.isArray(c.verifiers) || c.verifiers.length === 0)
          errors.push(`spec.access.credentials[${i}].verifiers must name at least one verifier key`);
        else if (c.verifiers.some((v) => typeof v !== 'string' || !new RegExp(HEX_KEY).test(v)))
          errors.push(`spec.access.credentials[${i}].verifiers must be lower-case hex Ed25519 public keys`);
      });
    }
  }
  const a = access.assessment;
  if (a !== undefined) {
    if (!isObj(a) || typeof a.minScore !== 'number' || !(a.minScore >= 0 && a.minScore <= 1))
      errors.push('spec.access.assessment.minScore must be a number between 0 and 1');
    else if (
      a.maxAttempts !== undefined &&
      (!Number.isInteger(a.maxAttempts) || (a.maxAttempts as number) < 1 || (a.maxAttempts as number) > 10)
    )
      errors.push('spec.access.assessment.maxAttempts must be an integer between 1 and 10');
    else if (
      a.failedAttemptFee !== undefined &&
      (typeof a.failedAttemptFee !== 'string' || !/^[0-9]{1,30}$/.test(a.failedAttemptFee))
    )
      errors.push('spec.access.assessment.failedAttemptFee must be an integer amount as a string (OPEN base units)');
  }
  const cur = access.curation;
  if (cur !== undefined) {
    if (!isObj(cur)) errors.push('spec.access.curation must be an object');
    else {
      if (
        cur.curators !== undefined &&
        (!Array.isArray(cur.curators) ||
          cur.curators.some((c) => typeof c !== 'string' || !new RegExp(ADDRESS).test(c)))
      )
        errors.push('spec.access.curation.curators must be account addresses');
      if (cur.requireApproval !== undefined && typeof cur.requireApproval !== 'boolean')
        errors.push('spec.access.curation.requireApproval must be a boolean');
      if (
        cur.reviewMs !== undefined &&
        (!Number.isInteger(cur.reviewMs) ||
          (cur.reviewMs as number) < 1000 ||
          (cur.reviewMs as number) > 30 * 24 * 3600_000)
      )
        errors.push('spec.access.curation.reviewMs must be an integer between 1000 and 30 days in ms');
    }
  }
  if (access.deposit !== undefined && (typeof access.deposit !== 'string' || !/^[0-9]{1,30}$/.test(access.deposit)))
    errors.push('spec.access.deposit must be integer OPEN base units as a decimal string');
  return errors;
}

/** The access part of a stored spec, or {} when it has none. */
export function accessOf(spec: unknown): DatanetAccess {
  return isObj(spec) && isObj(spec.access) ? spec.access : {};
}

/** OPEN base units each record deposits (0n: no deposit). */
export function depositPerRecord(access: DatanetAccess): bigint {
  return access.deposit ? BigInt(access.deposit) : 0n;
}

/** True when contributing needs more than a contributor role (credentials or an assessment). */
export function isGated(access: DatanetAccess): boolean {
  return (access.credentials?.length ?? 0) > 0 || access.assessment !== undefined;
}

// ---------- credentials ----------

/** An attestation whose signature the caller has already verified. */
export interface HeldCredential {
  id: string;
  claim: string;
  verifier: string;
  subject: string;
  expiresAt: number;
  revoked: boolean;
}

export interface AssessmentStanding {
  published: boolean;
  /** Best score so far, or null when never taken. */
  bestScore: number | null;
  attempts: number;
}

export interface MissingRequirement {
  kind: 'credential' | 'assessment';
  /** For credentials, the claim; for the assessment, 'assessment'. */
  requirement: string;
  reason: string;
}

/**
 * What `subject` still lacks to contribute at time `now` (ms): [] when every requirement holds.
 * Each entry says which requirement and why (none held, expired, revoked, wrong verifier, ...).
 */
export function missingRequirements(
  access: DatanetAccess,
  subject: string,
  held: readonly HeldCredential[],
  assessment: AssessmentStanding,
  now: number,
): MissingRequirement[] {
  const out: MissingRequirement[] = [];
  for (const req of access.credentials ?? []) {
    const forClaim = held.filter((c) => c.subject === subject && c.claim === req.claim);
    const trusted = forClaim.filter((c) => req.verifiers.includes(c.verifier));
    const valid = trusted.filter((c) => !c.revoked && c.expiresAt > now);
    if (valid.length > 0) continue;
    let why: string;
    if (forClaim.length === 0) why = `no attestation of "${req.claim}" is on record for ${subject}`;
    else if (trusted.length === 0)
      why = `the attestations of "${req.claim}" held by ${subject} are not signed by a verifier this Datanet names`;
    else if (trusted.every((c) => c.revoked)) why = `the attestation of "${req.claim}" was revoked by its verifier`;
    else if (trusted.some((c) => !c.revoked)) why = `the attestation of "${req.claim}" has expired`;
    else why = `the attestations of "${req.claim}" are revoked or expired`;
    out.push({ kind: 'credential', requirement: req.claim, reason: why });
  }
  const a = access.assessment;
  if (a) {
    const max = a.maxAttempts ?? DEFAULT_ASSESSMENT_ATTEMPTS;
    if (!assessment.published)
      out.push({ kind: 'assessment', requirement: 'assessment', reason: 'the entry assessment is not published yet' });
    else if (assessment.bestScore === null)
      out.push({
        kind: 'assessment',
        requirement: 'assessment',
        reason: `the entry assessment has not been taken (pass with a score of at least ${a.minScore})`,
      });
    else if (assessment.bestScore < a.minScore)
      out.push({
        kind: 'assessment',
        requirement: 'assessment',
        // No score: a refusal must not be the score oracle the attempt response refuses to be.
        reason: `the entry assessment was not passed (${assessment.attempts} of ${max} attempts used)`,
      });
  }
  return out;
}

/** Score of one attempt: the share of gold items answered with their known answer (exact match, trimmed). */
export function scoreAssessment(gold: readonly string[], answers: readonly string[]): number {
  if (gold.length === 0) return 0;
  let right = 0;
  gold.forEach((g, i) => {
    if ((answers[i] ?? '').trim() === g.trim()) right++;
  });
  return right / gold.length;
}

// ---------- curation ----------

export type CurationDecision = 'approved' | 'rejected';
/** Statuses a record may have once scoring is done, curation included. */
export type CuratedStatus =
  'accepted' | 'rejected' | 'duplicate' | 'near-duplicate' | 'curator-rejected' | 'awaiting-approval';

/** Statuses whose deposit can settle: the record's fate is known. */
export const SETTLED_STATUSES: readonly CuratedStatus[] = [
  'accepted',
  'rejected',
  'duplicate',
  'near-duplicate',
  'curator-rejected',
];

/**
 * A record's status from its automatic verdict and the curators' decision:
 * - a rejection always keeps the record out (curator-rejected), whatever scoring said;
 * - an approval admits an accepted record and overrides a quality/relevance rejection, but never a
 *   duplicate or near-duplicate: curators cannot launder copies into the dataset;
 * - with requireApproval, an accepted record nobody has approved waits (awaiting-approval).
 */
export function curatedStatus(
  auto: 'accepted' | 'rejected' | 'duplicate' | 'near-duplicate',
  decision: CurationDecision | null,
  requireApproval: boolean,
): CuratedStatus {
  if (auto === 'duplicate' || auto === 'near-duplicate') return auto;
  if (decision === 'rejected') return 'curator-rejected';
  if (decision === 'approved') return 'accepted';
  if (auto === 'accepted' && requireApproval) return 'awaiting-approval';
  return auto;
}

/** The automatic verdict behind a stored status (awaiting-approval was an accepted record). */
export function autoStatusOf(status: string): 'accepted' | 'rejected' | 'duplicate' | 'near-duplicate' | null {
  if (status === 'awaiting-approval') return 'accepted';
  if (status === 'accepted' || status === 'rejected' || status === 'duplicate' || status === 'near-duplicate')
    return status;
  return null;
}

/** Who may curate: the owner (the proposer) and the named curators. */
export function mayCurate(caller: string, owner: string, curators: readonly string[]): boolean {
  return caller === owner || curators.includes(caller);
}

// ---------- contributor views ----------

export interface LeaderboardRow {
  contributor: string;
  submitted: number;
  accepted: number;
  /** accepted / decided records, 0 when nothing is decided yet. */
  acceptanceRate: number;
}

/**
 * The acceptance-rate leaderboard: highest rate first, then most accepted records, then address.
 * Only decided records count toward the rate (pending and awaiting-approval do not).
 */
export function leaderboard(
  rows: readonly { contributor: string; submitted: number; accepted: number; decided: number }[],
): LeaderboardRow[] {
  return rows
    .map((r) => ({
      contributor: r.contributor,
      submitted: r.submitted,
      accepted: r.accepted,
      acceptanceRate: r.decided > 0 ? r.accepted / r.decided : 0,
    }))
    .sort(
      (a, b) =>
        b.acceptanceRate - a.acceptanceRate ||
        b.accepted - a.accepted ||
        (a.contributor < b.contributor ? -1 : a.contributor > b.contributor ? 1 : 0),
    );
}

/**
 * A contributor's earnings split over their records in proportion to each record's value (the
 * same value the attribution weight sums), so the parts add up to what the contributor earned.
 * Largest remainder rounding; records worth 0 get 0.
 */
export function splitEarnings(earned: bigint, values: readonly number[]): bigint[] {
  const w = values.map((v) => (Number.isFinite(v) && v > 0 ? BigInt(Math.round(v * 1e9)) : 0n));
  const total = w.reduce((s, x) => s + x, 0n);
  if (earned <= 0n || total === 0n) return values.map(() => 0n);
  const parts = w.map((x) => (earned * x) / total);
  let left = earned - parts.reduce((s, x) => s + x, 0n);
  const order = w
    .map((x, i) => ({ i, x, rem: (earned * x) % total }))
    .filter((o) => o.x > 0n)
    .sort((a, b) => (b.rem > a.rem ? 1 : b.rem < a.rem ? -1 : a.i - b.i));
  for (let k = 0; left > 0n && order.length > 0; k = (k + 1) % order.length) {
    const o = order[k]!;
    parts[o.i] = (parts[o.i] ?? 0n) + 1n;
    left--;
  }
  return parts;
}
