import type postgres from 'postgres';
import type { AssessmentStanding, HeldCredential } from '../../domain/data/datanet-access.js';
import { accountsOf } from '../../contracts/accounts.js';
import { lockBalances, postTransfers } from '../ledger.js';

/** Attestations, revocations, entry assessments and named curators of Datanets. */

export interface StoredAttestation {
  id: string;
  claim: string;
  subject: string;
  verifier: string;
  issuedAt: number;
  expiresAt: number;
  signature: string;
  revokedAt: number | null;
}

/** Stores an attestation whose signature was checked; true when new. */
export async function insertAttestation(sql: postgres.Sql, a: Omit<StoredAttestation, 'revokedAt'>): Promise<boolean> {
  const rows = await sql`
    insert into attestations (id, claim, subject, verifier, issued_at, expires_at, signature)
    values (${a.id}, ${a.claim}, ${a.subject}, ${a.verifier}, ${new Date(a.issuedAt)}, ${new Date(a.expiresAt)}, ${a.signature})
    on conflict (id) do nothing returning id`;
  return rows.length > 0;
}

export async function findAttestation(sql: postgres.Sql, id: string): Promise<StoredAttestation | undefined> {
  const [r] = await sql<
    {
      id: string;
      claim: string;
      subject: string;
      verifier: string;
      issued_at: Date;
      expires_at: Date;
      signature: string;
      revoked_at: Date | null;
    }[]
  >`select id, claim, subject, verifier, issued_at, expires_at, signature, revoked_at from attestations where id = ${id}`;
  return (
    r && {
      id: r.id,
      claim: r.claim,
      subject: r.subject,
      verifier: r.verifier,
      issuedAt: r.issued_at.getTime(),
      expiresAt: r.expires_at.getTime(),
      signature: r.signature,
      revokedAt: r.revoked_at?.getTime() ?? null,
    }
  );
}

/** Marks an attestation revoked (the first revocation stands); false when it was already revoked. */
export async function revokeAttestation(
  sql: postgres.Sql,
  id: string,
  revokedAt: number,
  signature: string,
): Promise<boolean> {
  const rows = await sql`
    update attestations set revoked_at = ${new Date(revokedAt)}, revocation_signature = ${signature}
    where id = ${id} and revoked_at is null returning id`;
  return rows.length > 0;
}

/** The attestations a subject holds for these claims (any verifier; the rule picks the trusted ones). */
export async function listHeldCredentials(
  sql: postgres.Sql,
  subject: string,
  claims: string[],
): Promise<HeldCredential[]> {
  if (claims.length === 0) return [];
  const rows = await sql<{ id: string; claim: string; verifier: string; expires_at: Date; revoked_at: Date | null }[]>`
    select id, claim, verifier, expires_at, revoked_at from attestations
    where subject = ${subject} and claim = any(${claims}::text[])`;
  return rows.map((r) => ({
    id: r.id,
    claim: r.claim,
    verifier: r.verifier,
    subject,
    expiresAt: r.expires_at.getTime(),
    revoked: r.revoked_at !== null,
  }));
}

export interface AssessmentItem {
  prompt: string;
  choices: string[];
  answer: string;
}

/** Publishes a Datanet's assessment once: false when it already has one (it never changes after). */
export async function publishAssessment(
  sql: postgres.Sql,
  datanetId: string,
  items: AssessmentItem[],
): Promise<boolean> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${'assessment:' + datanetId}, 0))`;
    const [existing] = await tx`select 1 from assessment_items where datanet_id = ${datanetId} limit 1`;
    if (existing) return false;
    await tx`
      insert into assessment_items (datanet_id, idx, prompt, choices, answer)
      select ${datanetId}, u.idx, u.prompt, u.choices::jsonb, u.answer
      from unnest(${items.map((_, i) => i)}::int[], ${items.map((i) => i.prompt)}::text[],
        ${items.map((i) => JSON.stringify(i.choices))}::text[], ${items.map((i) => i.answer)}::text[]) as u(idx, prompt, choices, answer)`;
    return true;
  });
}

export async function listAssessmentItems(sql: postgres.Sql, datanetId: string): Promise<AssessmentItem[]> {
  return sql<AssessmentItem[]>`
    select prompt, choices, answer from assessment_items where datanet_id = ${datanetId} order by idx`;
}

/**
 * Records one attempt (at most `maxAttempts` per contributor; the same request signature is the
 * same attempt). Returns the attempt number, or null when no attempt is left.
 */
/** Why an attempt was not recorded. */
export type AttemptRefusal = 'attempts-used' | 'cannot-cover-fee';

/**
 * Records one attempt under a per-(Datanet, contributor) lock, at most `maxAttempts` per account.
 * A failed attempt pays `failedAttemptFee` to the treasury in the same transaction; an account that
 * could not cover the fee is refused before its answers are judged, so probing is never free.
 * Idempotent by request signature: a replayed request returns the first outcome and pays nothing.
 */
export async function recordAssessmentAttempt(
  sql: postgres.Sql,
  a: {
    datanetId: string;
    contributor: string;
    score: number;
    passed: boolean;
    requestSignature: string;
    maxAttempts: number;
    failedAttemptFee: bigint;
    proposalId: string;
  },
): Promise<{ attempt: number; score: number; fee: bigint } | AttemptRefusal> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended(${`assessment:${a.datanetId}:${a.contributor}`}, 0))`;
    const [same] = await tx<{ attempt: number; score: number }[]>`
      select attempt, score from assessment_attempts where request_signature = ${a.requestSignature}`;
    const feeKey = (attempt: number) => `assessment:${a.datanetId}:${a.contributor}:${attempt}:fee`;
    if (same) {
      const [paid] = await tx<
        { amount: string }[]
      >`select amount from transfers where idempotency_key = ${feeKey(same.attempt)}`;
      return { ...same, fee: BigInt(paid?.amount ?? 0) };
    }
    const [n] = await tx<{ n: number }[]>`
      select count(*)::int as n from assessment_attempts where datanet_id = ${a.datanetId} and contributor = ${a.contributor}`;
    const used = n?.n ?? 0;
    if (used >= a.maxAttempts) return 'attempts-used';
    if (a.failedAttemptFee > 0n) {
      const held = (await lockBalances(tx, 'OPEN', [a.contributor, accountsOf.treasury])).get(a.contributor) ?? 0n;
      if (held < a.failedAttemptFee) return 'cannot-cover-fee';
    }
    const attempt = used + 1;
    await tx`
      insert into assessment_attempts (datanet_id, contributor, attempt, score, request_signature)
      values (${a.datanetId}, ${a.contributor}, ${attempt}, ${a.score}, ${a.requestSignature})`;
    const fee = a.passed ? 0n : a.failedAttemptFee;
    if (fee > 0n)
      await postTransfers(tx, [
        {
          idempotencyKey: feeKey(attempt),
          asset: 'OPEN',
          from: a.contributor,
          to: accountsOf.treasury,
          amount: fee.toString(),
          reason: 'failed assessment attempt',
          proposalId: a.proposalId,
        },
      ]);
    return { attempt, score: a.score, fee };
  });
}

export async function assessmentStanding(
  sql: postgres.Sql,
  datanetId: string,
  contributor: string,
): Promise<AssessmentStanding> {
  const [r] = await sql<{ published: boolean; best: number | null; attempts: number }[]>`
    select exists(select 1 from assessment_items where datanet_id = ${datanetId}) as published,
           (select max(score) from assessment_attempts where datanet_id = ${datanetId} and contributor = ${contributor}) as best,
           (select count(*)::int from assessment_attempts where datanet_id = ${datanetId} and contributor = ${contributor}) as attempts`;
  return { published: r?.published ?? false, bestScore: r?.best ?? null, attempts: r?.attempts ?? 0 };
}

export async function addCurator(sql: postgres.Sql, datanetId: string, curator: string, addedBy: string) {
  await sql`insert into datanet_curators (datanet_id, curator, added_by) values (${datanetId}, ${curator}, ${addedBy}) on conflict do nothing`;
}

export async function listCurators(sql: postgres.Sql, datanetId: string): Promise<string[]> {
  const rows = await sql<{ curator: string }[]>`
    select curator from datanet_curators where datanet_id = ${datanetId} order by curator`;
  return rows.map((r) => r.curator);
}
