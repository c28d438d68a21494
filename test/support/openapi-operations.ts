import type postgres from 'postgres';

/** One route of the live OpenAPI document: what a generated request needs to reach it. */
export interface Operation<S> {
  method: string;
  path: string;
  params: { name: string; in: 'path' | 'query'; required?: boolean; schema: S }[];
  body?: S;
}

/**
 * Every operation of the API's OpenAPI document (`/docs/json`) except the paths `skip` matches, so
 * a suite that walks them covers a new route with no change of its own.
 */
export async function operationsOf<S>(url: string, skip: RegExp): Promise<Operation<S>[]> {
  const doc = (await (await fetch(`${url}/docs/json`)).json()) as {
    paths: Record<
      string,
      Record<string, { parameters?: Operation<S>['params']; requestBody?: { content?: Record<string, { schema: S }> } }>
    >;
  };
  return Object.entries(doc.paths)
    .filter(([path]) => !skip.test(path))
    .flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query'),
        body: op.requestBody?.content?.['application/json']?.schema,
      })),
    );
}

/** Tables a refused request may legitimately touch: replay claims and rate-limit buckets. */
const BOOKKEEPING = new Set(['used_signatures', 'rate_buckets']);

/**
 * A fingerprint of every table but the bookkeeping ones: per table, its row count and newest row
 * version, so any insert, update or delete between two calls changes it.
 */
export async function tableFingerprinter(sql: postgres.Sql): Promise<() => Promise<Record<string, string>>> {
  const tables = (
    await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`
  )
    .map((r) => r.table_name)
    .filter((t) => !BOOKKEEPING.has(t));
  return async () => {
    const parts = tables.map(
      (t) => `select '${t}' as t, count(*)::text || ':' || coalesce(max(xmin::text::bigint), 0)::text as f from "${t}"`,
    );
    const rows = await sql.unsafe<{ t: string; f: string }[]>(parts.join(' union all '));
    return Object.fromEntries(rows.map((r) => [r.t, r.f]));
  };
}
