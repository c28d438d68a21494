import type postgres from 'postgres';
import { accessOf, isGated, missingRequirements, type MissingRequirement } from '../domain/data/datanet-access.js';
import { assessmentStanding, listHeldCredentials } from '../db/queries/datanet-access.js';
import { HttpError } from './errors.js';

/** What `address` still lacks to contribute to a Datanet with this spec ([] when nothing). */
export async function missingFor(
  sql: postgres.Sql,
  datanetId: string,
  spec: unknown,
  address: string,
): Promise<MissingRequirement[]> {
  const access = accessOf(spec);
  if (!isGated(access)) return [];
  const claims = (access.credentials ?? []).map((c) => c.claim);
  const [held, standing] = await Promise.all([
    listHeldCredentials(sql, address, claims),
    access.assessment
      ? assessmentStanding(sql, datanetId, address)
      : Promise.resolve({ published: true, bestScore: 1, attempts: 0 }),
  ]);
  return missingRequirements(access, address, held, standing, Date.now());
}

/** 403 naming every requirement the contributor lacks (ungated Datanets cost no query). */
export async function requireContributorAccess(
  sql: postgres.Sql,
  datanetId: string,
  spec: unknown,
  address: string,
): Promise<void> {
  const missing = await missingFor(sql, datanetId, spec, address);
  if (missing.length)
    throw new HttpError(
      403,
      `datanet ${datanetId} requires ${missing.map((m) => (m.kind === 'credential' ? `the credential "${m.requirement}"` : 'a passed entry assessment')).join(' and ')}: ${missing.map((m) => m.reason).join('; ')}`,
      missing,
    );
}
