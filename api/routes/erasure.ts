import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';
import { callerOf, signed } from '../auth.js';
import { conflict, forbidden, notFound } from '../errors.js';
import type { ApiContext } from '../context.js';
import type { PaidCalls } from '../inference/paid-calls.js';
import { responses } from '../schemas/common.js';
import { ErasureParams, ErasureResponse } from '../schemas/erasure.js';
import { versionView } from './curation.js';
import type { DatanetSpec } from '../../domain/data/datanet-spec.js';
import { findDatanetCuration, lockDataset } from '../../db/queries/curation.js';
import { findRecordRefs } from '../../db/queries/contributions.js';
import { eraseRecordKey, findDatanetKey } from '../../db/queries/private-records.js';
import { applyDecisionsToVersions } from '../../datasets/dataset-version.js';

/**
 * Erasure on request (docs/private-datanets.md, "Erasure"): a record's contributor destroys its data
 * key, so its ciphertext in packs, part files and manifests opens for nobody, and the record leaves
 * the Datanet's next dataset version (made at once when one was built already). Only the
 * contributor may erase: a curator or the owner rejects a record instead (it leaves the next version
 * but stays readable to the workers), so nobody can destroy a record someone else contributed.
 */
export const erasureRoutes =
  (ctx: ApiContext, handle: { paid: PaidCalls }): FastifyPluginCallbackTypebox =>
  (app, _opts, done) => {
    const { sql, store } = ctx;

    app.post(
      '/v1/datanets/:id/contributions/:hash/erase',
      {
        schema: {
          summary:
            "Erase one of your records from an encrypted Datanet (its contributor, signed): its data key is destroyed and it leaves the next dataset version; a public Datanet's records cannot be erased",
          tags: ['data'],
          params: ErasureParams,
          response: responses({ 200: ErasureResponse }),
        },
        preHandler: signed({ sql, replayGuard: ctx.replayGuard }),
      },
      async (req) => {
        const { id, hash } = req.params;
        const caller = callerOf(req).address;
        const d = await findDatanetCuration(sql, id);
        if (!d) throw notFound(`no datanet ${id}`);
        const copy = (await findRecordRefs(sql, hash)).find((r) => r.datanetId === id);
        if (!copy) throw notFound(`no contribution ${hash} in datanet ${id}`);
        if (copy.contributor !== caller)
          throw forbidden(
            `only the contributor of record ${hash} may erase it (curators reject records instead: a rejected record leaves the next dataset version)`,
          );
        // Shredding needs a key to destroy: a public Datanet's packs hold the plaintext, which anyone
        // may have read and copied, so erasing it would promise what cannot be kept.
        if (!(await findDatanetKey(sql, id)))
          throw conflict(
            `datanet ${id} is public: its records are stored and served in plaintext, so they cannot be erased; ask a curator to reject the record (it then leaves the next dataset version)`,
          );
        const result = await eraseRecordKey(sql, { datanetId: id, hash, erasedBy: caller });
        if (result === 'not-found') throw notFound(`no contribution ${hash} in datanet ${id}`);
        // The next version, under the dataset lock like a curator's decision. Run on a repeated
        // erasure too: a request that died between the two steps is completed by its retry (a
        // version is made only when the accepted set changed).
        const version = await sql.begin(async (tx) => {
          await lockDataset(tx, id);
          const r = await applyDecisionsToVersions(tx, store, {
            datanetId: id,
            proposalId: d.proposalId,
            spec: d.spec as DatanetSpec,
            cause: `erasure of ${hash}`,
          });
          return r.applied ? r.version : null;
        });
        handle.paid.forgetErasures(d.proposalId);
        return { datanetId: id, hash, result, version: version && versionView(version) };
      },
    );
    done();
  };
