import { Type, type TProperties } from '@sinclair/typebox';
import { badRequest } from './errors.js';
import { Nullable } from './schemas/common.js';

// Every list route pages the same way: `limit` (bounded, with a default) and an opaque `cursor`
// in, `nextCursor` out (null on the last page). A cursor is the sort key of the last item served,
// so a page costs an index seek whatever its depth, and rows added meanwhile are neither skipped
// nor repeated. Its contents are not an interface: clients pass it back as they got it.

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

const CURSOR_PATTERN = '^[A-Za-z0-9_-]{1,512}$';

/** The paging fields of a list route's querystring, merged with its own filters. */
export const pageQuery = <P extends TProperties>(filters: P, maxLimit = MAX_PAGE_SIZE) =>
  Type.Object({
    ...filters,
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: maxLimit,
        default: Math.min(DEFAULT_PAGE_SIZE, maxLimit),
        description: `items per page (1 to ${maxLimit})`,
      }),
    ),
    cursor: Type.Optional(
      Type.String({ pattern: CURSOR_PATTERN, description: "the previous page's nextCursor, as it was received" }),
    ),
  });

/** The `nextCursor` field of a list response. */
export const nextCursorField = {
  nextCursor: Nullable(Type.String({ description: 'pass as ?cursor= for the next page; null on the last page' })),
};

/** A sort key: the values of the columns a list is ordered by. */
export type CursorKey = readonly (string | number)[];
export type CursorKind = 'string' | 'number';

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The sort key a cursor holds, checked against the kinds the list is ordered by: 400 if it is not one. */
export function decodeCursor<K extends CursorKey>(
  cursor: string | undefined,
  kinds: readonly CursorKind[],
): K | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('invalid cursor: pass back the nextCursor of the previous page unchanged');
  }
  const fits =
    Array.isArray(key) &&
    key.length === kinds.length &&
    key.every((v, i) =>
      kinds[i] === 'number'
        ? typeof v === 'number' && Number.isFinite(v)
        : typeof v === 'string' && v.length <= 256 && !v.includes('\u0000'),
    );
  if (!fits) throw badRequest('invalid cursor: pass back the nextCursor of the previous page unchanged');
  return key as K;
}

/**
 * One page from rows fetched with `limit + 1` (the extra row only says whether there is more):
 * the first `limit` rows and the cursor of the last of them.
 */
export function pageOf<R>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => CursorKey,
): { items: R[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
