import { Type, type Static } from '@sinclair/typebox';

export const HealthResponse = Type.Object({
  ok: Type.Boolean(),
  checks: Type.Record(Type.String(), Type.String(), { description: '"ok" or the error, per dependency' }),
});
export type HealthResponse = Static<typeof HealthResponse>;
