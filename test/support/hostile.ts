import fc from 'fast-check';

// Hostile values for any JSON schema of the OpenAPI document: mostly values the schema accepts but
// that are built to break what lies behind it (NUL, lone surrogates, control and bidi characters,
// boundary and out-of-column-range numbers, deep and wide nesting, prototype keys), and sometimes
// values it must refuse. Derived from the schema alone, so a new route is fuzzed with no test change.

/** The subset of JSON Schema that TypeBox emits into the OpenAPI document. */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  nullable?: boolean;
}

/** Pieces that are each valid JSON text content, yet hurt a database, a parser or a canonicaliser. */
const NASTY_PIECES = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\udc00y',
  '\u202e\u2066',
  '\ufeff',
  '\u0007\u001b[31m',
  '😀',
  '\u{10ffff}',
  'é',
  "'; drop table accounts; --",
  '%00',
  '../../etc/passwd',
  '${jndi:ldap://x}',
  '__proto__',
  '{"a":1}',
  '\\',
  '"',
  '\r\n',
  ' ',
  '',
];

const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_PIECES),
  fc.array(fc.constantFrom(...NASTY_PIECES), { minLength: 1, maxLength: 6 }).map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
);

const fit = (s: string, min = 0, max = Infinity): string => {
  let out = s;
  while (out.length < min) out += out || 'x';
  return out.slice(0, max);
};

/** Strings the schema would accept whose content is hostile. */
function hostileText(s: JsonSchema): fc.Arbitrary<string> {
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? 20_000;
  return fc.oneof(
    { weight: 4, arbitrary: nastyString.map((v) => fit(v, min, max)) },
    // Long: at the schema's limit, or far beyond what any column or index was sized for.
    { weight: 1, arbitrary: fc.constantFrom('x', '\u0000', 'é', '😀').map((c) => fit(c.repeat(max), min, max)) },
  );
}

const INT_EDGES = [0, -1, 1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 2 ** 63, 1e20, 1e300];

function numberArb(s: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : undefined);
  const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : undefined);
  const inRange = (n: number) => (lo === undefined || n >= lo) && (hi === undefined || n <= hi);
  const edges = [...INT_EDGES, lo, hi, lo !== undefined ? lo - 1 : undefined, hi !== undefined ? hi + 1 : undefined]
    .filter((n): n is number => n !== undefined && Number.isFinite(n))
    .filter((n) => (integer ? Number.isInteger(n) : true));
  const valid = edges.filter(inRange);
  const arbs: fc.Arbitrary<number>[] = [
    integer
      ? fc.integer({ min: Math.max(lo ?? -(2 ** 31), -(2 ** 31)), max: Math.min(hi ?? 2 ** 31 - 1, 2 ** 31 - 1) })
      : fc.double({ noNaN: true, noDefaultInfinity: true, min: lo, max: hi }),
  ];
  if (valid.length) arbs.push(fc.constantFrom(...valid));
  // Filtered before sampling: a filter no constant passes (a range such as (0, 1000]) would never end.
  const odd = [0.1, -0, 1e-300, Number.MAX_VALUE, -Number.MAX_VALUE].filter(inRange);
  if (!integer && odd.length) arbs.push(fc.constantFrom(...odd));
  return fc.oneof(...arbs);
}

/** Values of any JSON type, nested up to `depth`, with hostile keys and strings. */
export function hostileJson(depth = 4): fc.Arbitrary<unknown> {
  const key = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', '', 'a\u0000', '\ud800'), nastyString);
  const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      nastyString,
      fc.constantFrom(null, true, false, 0, -0, 1e308, -1e308, 2 ** 63, 0.1),
      fc.array(tie('tree'), { maxLength: 4 }),
      fc.dictionary(key, tie('tree'), { maxKeys: 4 }),
    ),
  }));
  return fc
    .oneof(
      { weight: 3, arbitrary: tree },
      // Deep nesting around the server's limit, and wide objects.
      {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 200 }).map((d) => {
          let v: unknown = 'leaf';
          for (let i = 0; i < d; i++) v = i % 2 ? [v] : { n: v };
          return v;
        }),
      },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
    )
    .map((v) => (depth > 0 ? v : null));
}

/** A value the schema accepts (as far as shape, bounds and patterns go), with hostile content. */
export function validFor(s: JsonSchema): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const union = s.anyOf ?? s.oneOf;
  if (union) return fc.oneof(...union.map((u) => validFor(u)));
  if (s.allOf) return validFor(Object.assign({}, ...s.allOf) as JsonSchema);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      if (s.pattern)
        return fc
          .stringMatching(new RegExp(s.pattern))
          .filter((v) => v.length >= (s.minLength ?? 0) && v.length <= (s.maxLength ?? Infinity));
      if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
      return hostileText(s);
    case 'integer':
      return numberArb(s, true);
    case 'number':
      return numberArb(s, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const min = s.minItems ?? 0;
      const max = Math.min(s.maxItems ?? min + 4, min + 4);
      const items = fc.array(validFor(s.items ?? {}), { minLength: min, maxLength: max });
      return s.uniqueItems ? items.map((a) => [...new Map(a.map((x) => [JSON.stringify(x), x])).values()]) : items;
    }
    case 'object':
    case undefined: {
      if (!s.properties && type === undefined) return hostileJson();
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const shape: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) shape[k] = validFor(v);
      const base = fc.record(shape, { requiredKeys: [...required].filter((k) => k in props) });
      if (s.additionalProperties === false || Object.keys(props).length > 0) return base;
      // A free-form record (payloads, params, specs): hostile keys and nesting.
      return fc.dictionary(
        nastyString,
        typeof s.additionalProperties === 'object' ? validFor(s.additionalProperties) : hostileJson(),
        { maxKeys: 6 },
      );
    }
    default:
      return hostileJson();
  }
}

/** A value the schema should refuse: wrong type, out of bounds, extra or missing fields. */
export function invalidFor(s: JsonSchema): fc.Arbitrary<unknown> {
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  const wrongType = fc.constantFrom(null, 0, -1, 1e308, true, 'x', [], {}, [[[]]], '\u0000');
  const arbs: fc.Arbitrary<unknown>[] = [wrongType, hostileJson()];
  if (type === 'string') {
    if (s.maxLength !== undefined) arbs.push(fc.constant('x'.repeat(s.maxLength + 1)));
    arbs.push(nastyString);
  }
  if (type === 'integer' || type === 'number')
    arbs.push(fc.constantFrom(...INT_EDGES, 0.5, -0.5, (s.maximum ?? 0) + 1, (s.minimum ?? 0) - 1));
  if (type === 'object' && s.properties) {
    const keys = Object.keys(s.properties);
    arbs.push(
      fc
        .tuple(validFor(s), fc.constantFrom(...keys), invalidFor(s.properties[keys[0] ?? ''] ?? {}))
        .map(([v, k, bad]) => (v && typeof v === 'object' ? { ...v, [k]: bad } : v)),
    );
  }
  return fc.oneof(...arbs);
}

/** Mostly schema-valid hostile values, sometimes outright invalid ones. */
export function hostileFor(s: JsonSchema): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 4, arbitrary: validFor(s) }, { weight: 1, arbitrary: invalidFor(s) });
}

/**
 * Percent-encodes a path segment the way a hostile client would send it: lone surrogates become
 * the (invalid UTF-8) bytes of the surrogate, which encodeURIComponent refuses to produce.
 */
export function encodeSegment(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c >= 0xd800 && c <= 0xdfff)
      out +=
        `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
    else out += encodeURIComponent(ch);
  }
  return out || '%20';
}
