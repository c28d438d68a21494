// The Datanet spec a proposal declares (the schema its contributed records must follow), and the
// validators the API (for proposals) and the scoring activities (for records) apply to it.
// Pure: no I/O, safe to call in tight loops over batches of records.
import { Type, type Static } from '@sinclair/typebox';
import { DatanetAccessSchema, validateAccess } from './datanet-access.js';

export const FIELD_TYPES = ['string', 'number', 'integer', 'boolean', 'enum', 'messages'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

const FIELD_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';
const FIELD_NAME_RE = new RegExp(FIELD_NAME_PATTERN);

/** Upper bound on a record's serialised size a spec may allow (1 MiB). */
export const MAX_RECORD_BYTES_LIMIT = 1_048_576;
/** Default record size cap when a spec does not declare one (64 KiB). */
export const DEFAULT_MAX_RECORD_BYTES = 65_536;

/**
 * Who may read a Datanet's records: `public` (today's rules: an accepted record of an ungated
 * Datanet is public), `members` (its contributors and curators) or `private` (compute-only: only
 * the workers open records, curators through the logged curator view). `members` and `private`
 * Datanets are encrypted: the API never holds their plaintext (docs/private-datanets.md).
 */
export const VisibilitySchema = Type.Union([Type.Literal('public'), Type.Literal('members'), Type.Literal('private')]);
export type Visibility = Static<typeof VisibilitySchema>;
export const VISIBILITIES: readonly Visibility[] = VisibilitySchema.anyOf.map((l) => l.const);

/** Roles a chat message (a `messages` field) may carry. */
export const CHAT_ROLES = ['system', 'user', 'assistant'] as const;
/** Most messages one `messages` field may hold. */
export const MAX_CHAT_MESSAGES = 100;

export const DatanetFieldSchema = Type.Object(
  {
    name: Type.String({ pattern: FIELD_NAME_PATTERN }),
    type: Type.Union(FIELD_TYPES.map((t) => Type.Literal(t))),
    required: Type.Optional(Type.Boolean()),
    // A field can never be longer than a record may be; numeric bounds stay exact as doubles.
    maxLength: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RECORD_BYTES_LIMIT })),
    minLength: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RECORD_BYTES_LIMIT })),
    min: Type.Optional(Type.Number({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })),
    max: Type.Optional(Type.Number({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER })),
    values: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 1000 })),
  },
  { additionalProperties: false },
);

/**
 * TypeBox schema for the API's proposal route. It checks shape only; cross-field rules (textField
 * names a string field, min <= max, enum has values, ...) are in `validateSpec`, which the API must
 * also call.
 */
export const DatanetSpecSchema = Type.Object(
  {
    fields: Type.Array(DatanetFieldSchema, { minItems: 1, maxItems: 100 }),
    textField: Type.String({ minLength: 1 }),
    labelField: Type.Optional(Type.String({ minLength: 1 })),
    /** Generation: the string field holding the reference response to the prompt in textField. */
    responseField: Type.Optional(Type.String({ minLength: 1 })),
    maxRecordBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RECORD_BYTES_LIMIT })),
    /** Who may contribute and curate, and the per-record deposit (domain/data/datanet-access.ts). */
    access: Type.Optional(DatanetAccessSchema),
    /** Who may read records (default public); members and private Datanets are encrypted. */
    visibility: Type.Optional(VisibilitySchema),
  },
  { additionalProperties: false },
);

export type DatanetField = Static<typeof DatanetFieldSchema>;
export type DatanetSpec = Static<typeof DatanetSpecSchema>;

export type RecordValidation = { ok: true } | { ok: false; errors: string[] };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Cross-field checks on a spec. Also re-checks the shape, so it is safe on untrusted input that did
 * not go through DatanetSpecSchema. Returns [] when the spec is usable.
 */
export function validateSpec(spec: unknown): string[] {
  const errors: string[] = [];
  if (!isPlainObject(spec)) return ['spec must be an object'];
  for (const key of Object.keys(spec)) {
    if (
      !['fields', 'textField', 'labelField', 'responseField', 'maxRecordBytes', 'access', 'visibility'].includes(key)
    ) {
      errors.push(`spec: unknown property "${key}"`);
    }
  }
  const fields = spec.fields;
  if (!Array.isArray(fields) || fields.length === 0) {
    errors.push('spec.fields must be a non-empty array');
    return errors;
  }
  const byName = new Map<string, Record<string, unknown>>();
  fields.forEach((f: unknown, i: number) => {
    if (!isPlainObject(f)) {
      errors.push(`fields[${i}] must be an object`);
      return;
    }
    const name = f.name;
    if (typeof name !== 'string' || !FIELD_NAME_RE.test(name)) {
      errors.push(`fields[${i}]: name must match ${FIELD_NAME_PATTERN}`);
      return;
    }
    const where = `field "${name}"`;
    if (byName.has(name)) errors.push(`${where}: declared more than once`);
    byName.set(name, f);
    for (const key of Object.keys(f)) {
      if (!['name', 'type', 'required', 'maxLength', 'minLength', 'min', 'max', 'values'].includes(key)) {
        errors.push(`${where}: unknown property "${key}"`);
      }
    }
    const type = f.type;
    if (typeof type !== 'string' || !(FIELD_TYPES as readonly string[]).includes(type)) {
      errors.push(`${where}: type must be one of ${FIELD_TYPES.join(', ')}`);
      return;
    }
    if (f.required !== undefined && typeof f.required !== 'boolean')
      errors.push(`${where}: required must be a boolean`);
    for (const k of ['minLength', 'maxLength'] as const) {
      if (f[k] === undefined) continue;
      if (type !== 'string') errors.push(`${where}: ${k} only applies to string fields`);
      else if (!Number.isInteger(f[k]) || (f[k] as number) < 0)
        errors.push(`${where}: ${k} must be a non-negative integer`);
    }
    if (isFiniteNumber(f.minLength) && isFiniteNumber(f.maxLength) && f.minLength > f.maxLength) {
      errors.push(`${where}: minLength (${f.minLength}) is greater than maxLength (${f.maxLength})`);
    }
    for (const k of ['min', 'max'] as const) {
      if (f[k] === undefined) continue;
      if (type !== 'number' && type !== 'integer')
        errors.push(`${where}: ${k} only applies to number and integer fields`);
      else if (!isFiniteNumber(f[k])) errors.push(`${where}: ${k} must be a finite number`);
    }
    if (isFiniteNumber(f.min) && isFiniteNumber(f.max) && f.min > f.max) {
      errors.push(`${where}: min (${f.min}) is greater than max (${f.max})`);
    }
    if (type === 'enum') {
      const values = f.values;
      if (!Array.isArray(values) || values.length === 0) {
        errors.push(`${where}: an enum field needs a non-empty values list`);
      } else {
        if (values.some((v) => typeof v !== 'string' || v.length === 0))
          errors.push(`${where}: values must be non-empty strings`);
        if (new Set(values).size !== values.length) errors.push(`${where}: values contain duplicates`);
      }
    } else if (f.values !== undefined) {
      errors.push(`${where}: values only applies to enum fields`);
    }
  });

  const textField = spec.textField;
  if (typeof textField !== 'string' || textField.length === 0) {
    errors.push('spec.textField must name a field');
  } else {
    const tf = byName.get(textField);
    if (!tf) errors.push(`spec.textField "${textField}" is not a declared field`);
    else if (tf.type !== 'string' && tf.type !== 'messages')
      errors.push(`spec.textField "${textField}" must be a string or messages field`);
  }
  const responseField = spec.responseField;
  if (responseField !== undefined) {
    if (typeof responseField !== 'string' || responseField.length === 0) {
      errors.push('spec.responseField must name a field');
    } else {
      const rf = byName.get(responseField);
      if (!rf) errors.push(`spec.responseField "${responseField}" is not a declared field`);
      else if (rf.type !== 'string') errors.push(`spec.responseField "${responseField}" must be a string field`);
      if (responseField === textField) errors.push('spec.responseField must differ from spec.textField');
      if (responseField === spec.labelField) errors.push('spec.responseField must differ from spec.labelField');
    }
  }
  const labelField = spec.labelField;
  if (labelField !== undefined) {
    if (typeof labelField !== 'string' || labelField.length === 0) {
      errors.push('spec.labelField must name a field');
    } else {
      const lf = byName.get(labelField);
      if (!lf) errors.push(`spec.labelField "${labelField}" is not a declared field`);
      else if (lf.type !== 'enum' && lf.type !== 'string')
        errors.push(`spec.labelField "${labelField}" must be an enum or string field`);
      if (labelField === textField) errors.push('spec.labelField must differ from spec.textField');
    }
  }
  const mrb = spec.maxRecordBytes;
  if (
    mrb !== undefined &&
    (!Number.isInteger(mrb) || (mrb as number) < 1 || (mrb as number) > MAX_RECORD_BYTES_LIMIT)
  ) {
    errors.push(`spec.maxRecordBytes must be an integer between 1 and ${MAX_RECORD_BYTES_LIMIT}`);
  }
  const visibility = spec.visibility;
  if (visibility !== undefined && !(VISIBILITIES as readonly unknown[]).includes(visibility))
    errors.push(`spec.visibility must be one of ${VISIBILITIES.join(', ')}`);
  errors.push(...validateAccess(spec.access));
  return errors;
}

/** A stored spec's visibility: public when it declares none (every Datanet before the field existed). */
export function visibilityOf(spec: unknown): Visibility {
  const v = isPlainObject(spec) ? spec.visibility : undefined;
  return (VISIBILITIES as readonly unknown[]).includes(v) ? (v as Visibility) : 'public';
}

/** Whether a Datanet of this visibility stores its records encrypted (everything but public). */
export const isEncrypted = (visibility: Visibility): boolean => visibility !== 'public';

/** Whether the Datanet of this stored spec is encrypted: its records arrive sealed and only workers open them. */
export const isEncryptedSpec = (spec: unknown): boolean => isEncrypted(visibilityOf(spec));

/** Length in Unicode code points, so an emoji counts as one character, not two UTF-16 units. */
function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low surrogate is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return `a ${typeof v}`;
}

function checkField(field: DatanetField, value: unknown, errors: string[]): void {
  const where = `field "${field.name}"`;
  switch (field.type) {
    case 'string': {
      if (typeof value !== 'string') {
        errors.push(`${where}: must be a string, got ${describe(value)}`);
        return;
      }
      // s.length bounds the code-point count from above, so count only when it can matter.
      const needCount =
        (field.maxLength !== undefined && value.length > field.maxLength) ||
        (field.minLength !== undefined && value.length >= field.minLength && field.minLength > 0);
      const len = needCount ? codePointLength(value) : value.length;
      if (field.minLength !== undefined && len < field.minLength) {
        errors.push(`${where}: must be at least ${field.minLength} characters, got ${len}`);
      }
      if (field.maxLength !== undefined && len > field.maxLength) {
        errors.push(`${where}: must be at most ${field.maxLength} characters, got ${len}`);
      }
      return;
    }
    case 'number':
    case 'integer': {
      if (!isFiniteNumber(value)) {
        errors.push(`${where}: must be a finite number, got ${describe(value)}`);
        return;
      }
      if (field.type === 'integer' && !Number.isInteger(value)) {
        errors.push(`${where}: must be an integer, got ${value}`);
      }
      if (field.min !== undefined && value < field.min) errors.push(`${where}: must be >= ${field.min}, got ${value}`);
      if (field.max !== undefined && value > field.max) errors.push(`${where}: must be <= ${field.max}, got ${value}`);
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') errors.push(`${where}: must be a boolean, got ${describe(value)}`);
      return;
    case 'enum':
      if (typeof value !== 'string' || !(field.values ?? []).includes(value)) {
        errors.push(`${where}: must be one of ${(field.values ?? []).join(', ')}`);
      }
      return;
    case 'messages':
      checkMessages(where, value, errors);
      return;
  }
}

/** A chat transcript: a non-empty array of { role, content } with known roles and non-blank text. */
function checkMessages(where: string, value: unknown, errors: string[]): void {
  if (!Array.isArray(value) || value.length === 0) {
    errors.push(`${where}: must be a non-empty array of chat messages, got ${describe(value)}`);
    return;
  }
  if (value.length > MAX_CHAT_MESSAGES) errors.push(`${where}: at most ${MAX_CHAT_MESSAGES} messages`);
  value.slice(0, MAX_CHAT_MESSAGES).forEach((m: unknown, i) => {
    if (!isPlainObject(m)) {
      errors.push(`${where}[${i}]: must be an object with role and content`);
      return;
    }
    for (const key of Object.keys(m))
      if (key !== 'role' && key !== 'content') errors.push(`${where}[${i}]: unknown property "${key}"`);
    if (typeof m.role !== 'string' || !(CHAT_ROLES as readonly string[]).includes(m.role))
      errors.push(`${where}[${i}]: role must be one of ${CHAT_ROLES.join(', ')}`);
    if (typeof m.content !== 'string' || m.content.trim().length === 0)
      errors.push(`${where}[${i}]: content must be non-blank text`);
  });
}

// Per-spec lookup cache: specs are reused across a whole batch, records are not.
const fieldIndexCache = new WeakMap<DatanetSpec, Map<string, DatanetField>>();
function fieldIndex(spec: DatanetSpec): Map<string, DatanetField> {
  let idx = fieldIndexCache.get(spec);
  if (!idx) {
    idx = new Map(spec.fields.map((f) => [f.name, f]));
    fieldIndexCache.set(spec, idx);
  }
  return idx;
}

/**
 * Validates one contributed record against a (valid) spec. Rules:
 * - the payload is a JSON object; properties not declared in the spec are rejected;
 * - a missing or null property is an error when the field is `required`, and always for
 *   `textField` (the text is what gets scored); otherwise it is simply absent;
 * - the text field must contain non-whitespace text;
 * - string lengths count Unicode code points;
 * - the whole record, as UTF-8 JSON, must fit in maxRecordBytes (default 64 KiB).
 * All errors are collected, not just the first, so a contributor can fix them in one go.
 */
export function validateRecord(spec: DatanetSpec, payload: unknown): RecordValidation {
  if (!isPlainObject(payload)) return { ok: false, errors: [`record must be a JSON object, got ${describe(payload)}`] };
  const errors: string[] = [];
  const fields = fieldIndex(spec);
  for (const key of Object.keys(payload)) {
    if (!fields.has(key)) errors.push(`field "${key}": not declared in the Datanet spec`);
  }
  for (const field of spec.fields) {
    const value = payload[field.name];
    if (value === undefined || value === null) {
      if (field.required || field.name === spec.textField) errors.push(`field "${field.name}": is required`);
      continue;
    }
    checkField(field, value, errors);
  }
  const text = payload[spec.textField];
  if (typeof text === 'string' && text.trim().length === 0) errors.push(`field "${spec.textField}": must not be blank`);
  if (Array.isArray(text) && spec.responseField === undefined && fields.get(spec.textField)?.type === 'messages') {
    const turns = text as { role?: unknown }[];
    if (turns.length < 2 || turns[turns.length - 1]?.role !== 'assistant' || !turns.some((m) => m?.role === 'user'))
      errors.push(
        `field "${spec.textField}": a chat record needs at least one user message and must end with the assistant's reply`,
      );
  }

  const maxBytes = spec.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  // Serialising every record is the costliest step here, so first compute a cheap upper bound on
  // the JSON size (<= 6 bytes per UTF-16 unit, the worst case being a \u00XX escape; <= 25 bytes for
  // a number or boolean) and serialise only when that bound exceeds the limit.
  let upper = 2;
  for (const key of Object.keys(payload)) {
    const v = payload[key];
    // A chat transcript (an array) has no cheap bound: it is always serialised.
    upper +=
      6 * key.length +
      4 +
      (typeof v === 'string' ? 6 * v.length + 2 : typeof v === 'object' && v !== null ? Infinity : 25);
  }
  if (upper > maxBytes) {
    const bytes = Buffer.byteLength(JSON.stringify(payload), 'utf8');
    if (bytes > maxBytes) errors.push(`record: is ${bytes} bytes as JSON, more than the limit of ${maxBytes}`);
  }
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}

interface ChatTurn {
  role: string;
  content: string;
}
const chatTurns = (v: unknown): ChatTurn[] =>
  Array.isArray(v)
    ? v.filter((m): m is ChatTurn => isPlainObject(m) && typeof m.role === 'string' && typeof m.content === 'string')
    : [];

/** A chat transcript as prompt text: the turns' contents, one per line (roles add no meaning to retrieval). */
export function renderChat(turns: readonly { content: string }[]): string {
  return turns.map((t) => t.content.trim()).join('\n');
}

/**
 * The record's input text: the text field, or for a chat transcript the turns before the reply
 * (the whole transcript when the reply is in responseField). For classification this is what is
 * scored; for generation it is the prompt.
 */
export function recordText(spec: DatanetSpec, payload: Record<string, unknown>): string {
  const v = payload[spec.textField];
  if (typeof v === 'string') return v;
  const turns = chatTurns(v);
  if (spec.responseField === undefined && turns[turns.length - 1]?.role === 'assistant') turns.pop();
  return renderChat(turns);
}

/** Generation: the reference response (responseField, or the chat transcript's final assistant reply); '' if none. */
export function recordResponse(spec: DatanetSpec, payload: Record<string, unknown>): string {
  if (spec.responseField !== undefined) {
    const r = payload[spec.responseField];
    return typeof r === 'string' ? r : '';
  }
  const turns = chatTurns(payload[spec.textField]);
  const last = turns[turns.length - 1];
  return last?.role === 'assistant' ? last.content : '';
}

/** Whether records of this spec carry a response (prompt → response), as a generation Datanet needs. */
export function specHasResponse(spec: DatanetSpec): boolean {
  return (
    spec.responseField !== undefined || spec.fields.some((f) => f.name === spec.textField && f.type === 'messages')
  );
}

/** What scoring (quality, relevance, near-duplicates) reads: the input and, for generation, the response. */
export function scoringText(spec: DatanetSpec, payload: Record<string, unknown>): string {
  const text = recordText(spec, payload);
  const response = recordResponse(spec, payload);
  return response ? `${text}\n${response}` : text;
}

/**
 * Rules tying a Datanet spec to the proposal's task: a generation Datanet's records carry a
 * response (responseField, or a chat transcript ending with the assistant's reply); a
 * classification Datanet has none and names at least two labels. Returns [] when they fit.
 */
export function validateSpecForTask(
  spec: DatanetSpec,
  task: 'classification' | 'generation',
  labels: readonly string[],
): string[] {
  const errors: string[] = [];
  if (task === 'generation') {
    if (!specHasResponse(spec))
      errors.push(
        'a generation Datanet needs a response: set spec.responseField, or make spec.textField a messages field',
      );
  } else {
    if (spec.responseField !== undefined) errors.push('spec.responseField applies to generation Datanets only');
    if (spec.fields.some((f) => f.name === spec.textField && f.type === 'messages'))
      errors.push('spec.textField may be a messages field only in a generation Datanet');
    if (labels.length < 2) errors.push('a classification proposal needs at least two labels');
  }
  return errors;
}
