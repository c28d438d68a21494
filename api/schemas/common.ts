import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** The body of every 4xx (and 5xx) answer: a reason the client can act on, and details when there are some. */
export const ErrorBody = Type.Object(
  { error: Type.String(), details: Type.Optional(Type.Unknown()) },
  { description: 'why the request was refused' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Integer base units of OPEN or gOPEN, as a decimal string (they exceed 2^53). */
export const Amount = Type.String({ pattern: '^[1-9][0-9]{0,30}$', description: 'integer base units' });
/** A balance or sum in integer base units (may be 0). */
export const Units = Type.String({ pattern: '^[0-9]+$', description: 'integer base units' });
export const Asset = Type.Union([Type.Literal('OPEN'), Type.Literal('gOPEN')]);
/** A timestamp, serialized as an ISO 8601 string. */
export const Timestamp = Type.String({ format: 'date-time' });

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/**
 * The responses of a route: its success bodies by status, plus the shared error body for every
 * 4xx and 5xx it may answer with (validation, signature, role, not found, conflict, ...).
 */
export const responses = <R extends Record<number, TSchema>>(success: R) =>
  ({ ...success, '4xx': ErrorBody, '5xx': ErrorBody }) as R & { '4xx': typeof ErrorBody; '5xx': typeof ErrorBody };

export const IdParams = Type.Object({ id: Type.String() });
