import { randomBytes } from 'node:crypto';
import type postgres from 'postgres';
import type { FastifyInstance } from 'fastify';
import { DEPLOYMENT_ID_PATTERN, DEPLOYMENT_PATH, SIGNATURE_VERSION } from '../identity/request-signing.js';
import { ensureDeploymentId } from '../db/queries/deployment.js';
import { responses } from './schemas/common.js';
import { DeploymentResponse } from './schemas/ops.js';

/**
 * The id this deployment binds into signed messages: COMMONS_DEPLOYMENT_ID when set, else one random
 * id kept in Postgres, so every replica of a deployment agrees and two deployments never do.
 */
export async function resolveDeploymentId(sql: postgres.Sql, configured: string | undefined): Promise<string> {
  if (configured !== undefined) {
    if (!DEPLOYMENT_ID_PATTERN.test(configured))
      throw new Error(`COMMONS_DEPLOYMENT_ID must match ${DEPLOYMENT_ID_PATTERN.source}`);
    return configured;
  }
  return ensureDeploymentId(sql, `dep-${randomBytes(12).toString('hex')}`);
}

/** Public: clients learn the deployment id they must sign for. */
export function registerDeploymentRoute(app: FastifyInstance, deploymentId: string): void {
  app.get(
    DEPLOYMENT_PATH,
    {
      schema: {
        summary: 'The deployment id that signed requests must include',
        tags: ['ops'],
        response: responses({ 200: DeploymentResponse }),
      },
    },
    (_req, reply) => reply.send({ deploymentId, signatureVersion: SIGNATURE_VERSION }),
  );
}
