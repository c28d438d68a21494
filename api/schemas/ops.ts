import { Type, type Static } from '@sinclair/typebox';

export const LivenessResponse = Type.Object({ ok: Type.Literal(true) });
export type LivenessResponse = Static<typeof LivenessResponse>;

export const HealthResponse = Type.Object({
  ok: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.String(), { description: '"ok" or the error, per dependency' }),
});
export type HealthResponse = Static<typeof HealthResponse>;

export const DeploymentResponse = Type.Object({
  deploymentId: Type.String({
    description: 'bound into every signed message (COMMONS-V3): a signature made for another deployment is refused',
  }),
  signatureVersion: Type.String(),
});
export type DeploymentResponse = Static<typeof DeploymentResponse>;
