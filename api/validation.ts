import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';

// How route schemas are enforced. A JSON body carries its own types, so a body field is taken only
// as the type its schema names: "0.05" is not a fee share and "7" is not a count (fastify's default
// coerces both, which let a string through where domain code then computed NaN). Path and query
// values are text and are still coerced, but a value that coerces to a number no rule can compare
// ("Infinity", "1e309" pass every bound as Infinity) is refused, as is -0 anywhere.

type Validator = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };

const build = AjvCompiler();
// An unknown field is refused, not silently dropped: a misspelt parameter must not fall back to its default.
const strict = { coerceTypes: false, strictNumbers: true, removeAdditional: false };
const coercing = { strictNumbers: true };

/** Where in `data` a number is not finite or is -0 (as a JSON pointer), or undefined. */
export function unusableNumberAt(data: unknown, at = ''): string | undefined {
  // Iterative: a request's data is never recursed into (its depth is bounded by the guards anyway).
  const stack: { v: unknown; at: string }[] = [{ v: data, at }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { v } = item;
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || Object.is(v, -0)) return item.at || '/';
    } else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) stack.push({ v: x, at: `${item.at}/${k}` });
    }
  }
  return undefined;
}

function refusingUnusableNumbers(inner: Validator): Validator {
  const check: Validator = (data) => {
    if (!inner(data)) {
      check.errors = inner.errors;
      return false;
    }
    const at = unusableNumberAt(data);
    if (at === undefined) {
      check.errors = null;
      return true;
    }
    const err: FastifySchemaValidationError = {
      instancePath: at === '/' ? '' : at,
      message: 'must be a finite number (not NaN, Infinity or -0)',
      keyword: 'finite',
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
    refusingUnusableNumbers((route.httpPart === 'body' ? bodies : parts)(route) as unknown as Validator),
  );
}
