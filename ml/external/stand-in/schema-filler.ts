/**
 * Schema-constrained decoding for the stand-in upstream: a JSON value built by walking a JSON
 * Schema, so the output is valid for it by construction (as vLLM's guided decoding guarantees),
 * with every free choice filled from the conversation: enum members and numbers it mentions, named
 * things (capitalised or quoted phrases), the phrase a field's name points at, or generated text
 * for fields that ask for prose. Supported: type (and type lists), properties/required, items,
 * minItems/maxItems, enum, const, anyOf/oneOf, $ref into $defs/definitions, minimum/maximum,
 * minLength/maxLength, default, the date/date-time/email formats.
 */
export type Schema = Record<string, unknown>;

export interface FillContext {
  /** The text arguments are taken from (the user's latest message, then earlier ones). */
  text: string;
  /** Generated prose for fields that ask for it (answer, summary, …). */
  prose: () => string;
}

const PROSE_FIELD =
  /^(answer|response|reply|text|content|summary|explanation|reason(ing)?|message|description|output)$/i;
const QUERY_FIELD = /(query|question|prompt|search|topic|keywords?|subject)/i;
const STOP = new Set(
  (
    'a an the is are was were be to of in on at for with about from by and or what which who whom how when where why ' +
    'please can could would should i me my you your we it its this that these those do does did get find tell give show ' +
    'current today now some any'
  ).split(' '),
);

function words(s: string): string[] {
  return s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Splits a field name into words: `cityName`, `city_name` and `city-name` all give "city name". */
export function nameWords(name: string): string[] {
  return words(name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' '));
}

/** Candidate strings the conversation offers: quoted phrases, named things, phrases after a preposition. */
export function phrases(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/["“']([^"”']{1,80})["”']/g)) out.push(m[1]!.trim());
  // Capitalised runs, but not a sentence's first word alone (that is capitalised anyway).
  for (const m of text.matchAll(/(?<![.!?]\s|^)\b(\p{Lu}[\p{L}\p{N}]*(?:\s+\p{Lu}[\p{L}\p{N}]*)*)/gu)) out.push(m[1]!);
  for (const m of text.matchAll(/\b(?:in|for|about|of|on|at|to|from|near)\s+([^,.;:?!]{1,60})/gi)) {
    const kept = m[1]!
      .split(/\s+/)
      .filter((w) => w)
      .slice(0, 4)
      .join(' ');
    if (kept && !STOP.has(kept.toLowerCase())) out.push(kept);
  }
  return [...new Set(out.filter((p) => p && !STOP.has(p.toLowerCase())))];
}

/** The content words of `text`: what a search query made from it would contain. */
function keywords(text: string): string {
  return words(text)
    .filter((w) => !STOP.has(w))
    .join(' ');
}

interface Walk {
  root: Schema;
  ctx: FillContext;
  numbers: number[];
  phrases: string[];
  used: Set<string>;
}

function resolve(s: Schema, w: Walk, depth = 0): Schema {
  const ref = s.$ref;
  if (typeof ref !== 'string' || depth > 16) return s;
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  const defs = m ? (w.root[m[1]!] as Record<string, Schema> | undefined) : undefined;
  const target = m && defs ? defs[decodeURIComponent(m[2]!)] : ref === '#' ? w.root : undefined;
  if (!target) throw new Error(`cannot resolve $ref ${ref}`);
  return resolve(target, w, depth + 1);
}

function typeOf(s: Schema): string {
  const t = s.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t as string[]).find((x) => x !== 'null') ?? 'null';
  if (s.properties) return 'object';
  if (s.items) return 'array';
  return 'string';
}

function mentioned(value: unknown, text: string): boolean {
  return typeof value === 'string' ? text.toLowerCase().includes(value.toLowerCase()) : text.includes(String(value));
}

function fillString(s: Schema, name: string, w: Walk): string {
  const text = w.ctx.text;
  const fmt = s.format;
  if (fmt === 'date' || fmt === 'date-time') {
    const d = /\b\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?\b/.exec(text)?.[0] ?? '1970-01-01';
    return fmt === 'date' ? d.slice(0, 10) : d.includes('T') ? d : `${d.slice(0, 10)}T00:00:00Z`;
  }
  if (fmt === 'email') return /[\w.+-]+@[\w-]+(\.[\w-]+)+/.exec(text)?.[0] ?? 'user@example.com';
  const pattern = typeof s.pattern === 'string' ? new RegExp(s.pattern, 'u') : undefined;
  // Spans of the conversation the pattern (unanchored) finds come first: "ABC-42" for ^[A-Z]{3}-\d+$.
  const spans = pattern
    ? [...text.matchAll(new RegExp(pattern.source.replace(/^\^/, '').replace(/\$$/, ''), 'gu'))].map((m) => m[0])
    : [];
  const nw = nameWords(name);
  let candidates: string[];
  if (PROSE_FIELD.test(name)) candidates = [w.ctx.prose()];
  else if (QUERY_FIELD.test(name)) candidates = [keywords(text), ...w.phrases];
  else {
    // A phrase that shares a word with the field's name or description first, then unused ones.
    const hint = new Set([...nw, ...words(typeof s.description === 'string' ? s.description : '')]);
    const scored = w.phrases.map((p, i) => ({ p, score: words(p).filter((x) => hint.has(x)).length * 10 - i }));
    scored.sort((a, b) => b.score - a.score);
    candidates = [
      ...scored.filter((c) => !w.used.has(c.p)).map((c) => c.p),
      ...scored.map((c) => c.p),
      keywords(text),
      w.ctx.prose(),
    ];
  }
  candidates.unshift(...spans);
  if (s.default !== undefined && typeof s.default === 'string') candidates.push(s.default);
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  for (const c of candidates) {
    const v = c.length > max ? c.slice(0, max) : c;
    if (v.length < min || (pattern && !pattern.test(v))) continue;
    if (v || min === 0) {
      w.used.add(c);
      return v;
    }
  }
  if (pattern) throw new Error(`no text in the conversation matches the pattern of "${name}"`);
  return (candidates[0] ?? '').padEnd(min, '.').slice(0, max === Infinity ? undefined : max);
}

function fillNumber(s: Schema, integer: boolean, w: Walk): number {
  const lo = typeof s.minimum === 'number' ? s.minimum : -Infinity;
  const hi = typeof s.maximum === 'number' ? s.maximum : Infinity;
  const next = w.numbers.shift();
  let v = next ?? (typeof s.default === 'number' ? s.default : Number.isFinite(lo) ? lo : 0);
  if (integer) v = Math.round(v);
  v = Math.min(hi, Math.max(lo, v));
  if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) v = s.exclusiveMinimum + (integer ? 1 : 0.5);
  if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) v = s.exclusiveMaximum - (integer ? 1 : 0.5);
  return v;
}

/** Below this depth only what the schema requires is generated, so a recursive schema ends. */
const MAX_DEPTH = 6;

function fill(schema: Schema, name: string, w: Walk, depth = 0): unknown {
  const s = resolve(schema, w);
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum.find((v) => mentioned(v, w.ctx.text)) ?? s.enum[0];
  const branches = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (Array.isArray(branches) && branches.length) {
    const firstReal = branches.find((b) => resolve(b, w).type !== 'null') ?? branches[0]!;
    return fill(firstReal, name, w, depth);
  }
  switch (typeOf(s)) {
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, Schema>;
      const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
      const out: Record<string, unknown> = {};
      for (const [key, sub] of Object.entries(props))
        if (required.has(key) || (depth < MAX_DEPTH && evidenceFor(key, resolve(sub, w), w)))
          out[key] = fill(sub, key, w, depth + 1);
      return out;
    }
    case 'array': {
      const min = typeof s.minItems === 'number' ? s.minItems : 0;
      const max = typeof s.maxItems === 'number' ? s.maxItems : Infinity;
      const items = (s.items ?? {}) as Schema;
      const length = Math.min(max, depth < MAX_DEPTH ? Math.max(min, 1) : min);
      return Array.from({ length }, () => fill(items, name, w, depth + 1));
    }
    case 'integer':
      return fillNumber(s, true, w);
    case 'number':
      return fillNumber(s, false, w);
    case 'boolean':
      return typeof s.default === 'boolean'
        ? s.default
        : nameWords(name).some((x) => words(w.ctx.text).includes(x)) && !/\b(not|no|don'?t|never)\b/i.test(w.ctx.text);
    case 'null':
      return null;
    default:
      return fillString(s, name, w);
  }
}

/** Whether the conversation says something an optional field could carry. */
function evidenceFor(key: string, s: Schema, w: Walk): boolean {
  if (Array.isArray(s.enum)) return s.enum.some((v) => mentioned(v, w.ctx.text));
  const t = typeOf(s);
  if (t === 'number' || t === 'integer') return w.numbers.length > 0;
  return nameWords(key).some((x) => words(w.ctx.text).includes(x));
}

/** A value valid for `schema`, filled from the conversation. */
export function fillSchema(schema: Schema, ctx: FillContext): unknown {
  const w: Walk = {
    root: schema,
    ctx,
    numbers: (ctx.text.match(/-?\d+(?:\.\d+)?/g) ?? []).map(Number),
    phrases: phrases(ctx.text),
    used: new Set(),
  };
  return fill(schema, '', w);
}
