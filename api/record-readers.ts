import type { FastifyRequest } from 'fastify';
import type postgres from 'postgres';
import type { ReplayGuard } from '../identity/request-signing.js';
import { isEncrypted, visibilityOf } from '../domain/data/datanet-spec.js';
import { mayReadDerivedText } from '../domain/data/payload-access.js';
import { findDatanetCuration, type DatanetCuration } from '../db/queries/curation.js';
import { optionalSigner } from './auth.js';

interface RowOf {
  datanetId: string;
  contributor: string;
  status: string;
}

/**
 * Which of these records' derived text (scoring reasons, curators' reasons) the caller may see
 * (domain/data/payload-access.ts). The request's signature is read only when some record sits in an
 * encrypted Datanet: a public one's reasons stay public and unsigned reads keep working.
 */
export async function derivedTextReaders(
  req: FastifyRequest,
  sql: postgres.Sql,
  replayGuard: ReplayGuard,
  rows: readonly RowOf[],
): Promise<{ mayRead(row: RowOf): boolean }> {
  const datanets = new Map<string, DatanetCuration | undefined>();
  for (const id of new Set(rows.map((r) => r.datanetId))) datanets.set(id, await findDatanetCuration(sql, id));
  const encrypted = [...datanets.values()].some((d) => d && isEncrypted(visibilityOf(d.spec)));
  const reader = encrypted ? await optionalSigner(req, replayGuard) : undefined;
  return {
    mayRead(row) {
      const d = datanets.get(row.datanetId);
      // A row whose Datanet vanished says nothing more than its hash.
      return (
        d !== undefined && mayReadDerivedText({ status: row.status, contributor: row.contributor, datanet: d }, reader)
      );
    },
  };
}
