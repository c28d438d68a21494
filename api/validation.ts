import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';

// How route schemas are enforced. A JSON body carries its own types, so a body field is taken only
// as the type its schema names: "0.05" is not a fee share and "7" is not a count (fastify's default
// coerces both, which let a string through where domain code then computed NaN). Path and query
// values are text and are still coerced, but a value that coerces to a number no rule can compare
// ("Infinity", "1e309" pass every bound as Infinity) is refused, as is -0 anywhere, and a number
// in text must be spelt plainly ("07" is refused).

type Validator = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };

const build = AjvCompiler();
const strict = { coerceTypes: false, strictNumbers: true };
const coercing = { strictNumbers: true };

/** Where in `data` a number is not finite or is -0 (as a JSON pointer), or undefined. */
export function unusableNumberAt(data: unknown): string | undefined {
  // Iterative, and paths are built only for the culprit: a 64 MiB batch is walked at no extra cost.
  const stack: { v: unknown; at: () => string }[] = [{ v: data, at: () => '' }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { v, at } = item;
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || Object.is(v, -0)) return at() || '/';
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) stack.push({ v: x, at: () => `${at()}/${k}` });
    }
  }
  return undefined;
}

/**
 * Where a path or query value became a number it does not spell plainly ("07", "1e2", "7.0", " 7"):
 * a number in text must read as the number it is, so one value has one spelling.
 */
function unplainNumberAt(text: Record<string, unknown>, coerced: unknown): string | undefined {
  if (coerced === null || typeof coerced !== 'object') return undefined;
  for (const [k, v] of Object.entries(coerced))
    if (typeof v === 'number' && typeof text[k] === 'string' && String(v) !== text[k]) return `/${k}`;
  return undefined;
}

function refusing(inner: Validator, textPart: boolean): Validator {
  const check: Validator = (data) => {
    const text = textPart && data !== null && typeof data === 'object' ? { ...(data as Record<string, unknown>) } : {};
    if (!inner(data)) {
      check.errors = inner.errors;
      return false;
    }
    const unusable = unusableNumberAt(data);
    const unplain = unusable === undefined && textPart ? unplainNumberAt(text, data) : undefined;
    const at = unusable ?? unplain;
    if (at === undefined) {
      check.errors = null;
      return true;
    }
    const err: FastifySchemaValidationError = {
      instancePath: at === '/' ? '' : at,
      message: unusable
        ? 'must be a finite number (not NaN, Infinity or -0)'
        : 'must be a number written plainly (no leading zeros, exponent or trailing decimal point)',
      keyword: unusable ? 'finite' : 'plain',
      params: { at },
      schemaPath: '#',
    };
    check.errors = [err];
    return false;
  };
  return check;
}

/** Installs the validator compiler on the root instance, before any route is registered. */
export function installValidation(app: FastifyInstance): void {
  const bodies = build({}, { customOptions: strict }) as FastifySchemaCompiler<FastifySchema>;
  const parts = build({}, { customOptions: coercing }) as FastifySchemaCompiler<FastifySchema>;
  app.setValidatorCompiler((route) =>
    route.httpPart === 'body'
      ? refusing(bodies(route) as unknown as Validator, false)
      : refusing(parts(route) as unknown as Validator, true),
  );
}
