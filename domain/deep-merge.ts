/** Deep merge of parameter and settings objects (lifecycle parameters, protocol settings). */

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of parameter objects: `over`'s defined leaves win, arrays are replaced whole. */
export function merge<T>(base: T, over: unknown): T {
  if (!isPlainObject(over) || !isPlainObject(base)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over))
    if (v !== undefined) out[k] = merge((base as Record<string, unknown>)[k], v);
  return out as T;
}
