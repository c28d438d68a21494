/**
 * Renders the API's OpenAPI document as the markdown reference in docs/api.md, so the reference
 * is the contract the server enforces rather than a hand-kept copy of it. Pure: the document in,
 * the text out.
 */

export interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  additionalProperties?: boolean | JsonSchema;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
}

interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

export interface OpenApiDocument {
  info?: { title?: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
/** How deep request fields are listed: deep enough for a Datanet spec's access rules. */
const REQUEST_DEPTH = 5;
/** Responses list their fields two levels down; deeper shapes are in the JSON document. */
const RESPONSE_DEPTH = 2;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const code = (text: string) => '`' + text.replace(/`/g, "'") + '`';

function literal(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

/** A schema's type in a few words: `"yes" | "no"`, `string ≤ 200`, `integer 1–1000`, `string[]`. */
export function typeOf(schema: JsonSchema): string {
  if (schema.anyOf) {
    const enums = schema.anyOf.every((s) => s.enum?.length === 1 || s.const !== undefined);
    if (enums) return schema.anyOf.map((s) => literal(s.const ?? s.enum?.[0])).join(' | ');
    return schema.anyOf.map(typeOf).join(' or ');
  }
  if (schema.enum) return schema.enum.map(literal).join(' | ');
  if (schema.const !== undefined) return literal(schema.const);
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : (schema.type ?? 'any');
  let text = type;
  if (type === 'array') {
    const item = schema.items ? typeOf(schema.items) : 'any';
    text = /\s/.test(item) ? `(${item})[]` : `${item}[]`;
  }
  if (type === 'object' && typeof schema.additionalProperties === 'object')
    text = `map of ${typeOf(schema.additionalProperties)}`;
  const bounds = [
    range(schema.minLength, schema.maxLength, 'chars'),
    range(schema.minimum, schema.maximum, ''),
    range(schema.minItems, schema.maxItems, 'items'),
  ].filter(Boolean);
  if (bounds.length > 0) text += ` (${bounds.join(', ')})`;
  if (schema.pattern) text += ` ${code(schema.pattern)}`;
  if (schema.nullable) text += ' or null';
  return text;
}

function range(min: number | undefined, max: number | undefined, unit: string): string {
  const suffix = unit ? ` ${unit}` : '';
  if (min !== undefined && max !== undefined) return `${min}–${max}${suffix}`;
  if (max !== undefined) return `≤ ${max}${suffix}`;
  if (min !== undefined && min > 0) return `≥ ${min}${suffix}`;
  return '';
}

interface Field {
  name: string;
  type: string;
  required: boolean;
  description: string;
}

/** The fields of an object schema, nested ones as `a.b` and array elements as `a[].b`. */
export function fieldsOf(schema: JsonSchema, depth: number, prefix = ''): Field[] {
  const object = schema.type === 'array' && schema.items ? schema.items : schema;
  const base = schema.type === 'array' && prefix ? `${prefix}[]` : prefix;
  if (!object.properties || depth === 0) return [];
  const required = new Set(object.required ?? []);
  return Object.entries(object.properties).flatMap(([key, child]) => {
    const name = base ? `${base}.${key}` : key;
    const field = { name, type: typeOf(child), required: required.has(key), description: child.description ?? '' };
    return [field, ...fieldsOf(child, depth - 1, name)];
  });
}

function fieldTable(fields: Field[]): string[] {
  return [
    '| field | type | required | meaning |',
    '| --- | --- | --- | --- |',
    ...fields.map((f) => `| ${code(f.name)} | ${cell(f.type)} | ${f.required ? 'yes' : ''} | ${cell(f.description)} |`),
  ];
}

function renderOperation(method: string, path: string, op: Operation): string[] {
  const lines = [`### ${code(`${method.toUpperCase()} ${path}`)}`, ''];
  if (op.summary) lines.push(cell(op.summary), '');
  if (op.description) lines.push(cell(op.description), '');
  const params = op.parameters ?? [];
  if (params.length > 0) {
    lines.push('| parameter | in | type | required | meaning |', '| --- | --- | --- | --- | --- |');
    for (const p of params)
      lines.push(
        `| ${code(p.name)} | ${p.in} | ${cell(p.schema ? typeOf(p.schema) : 'any')} | ${p.required ? 'yes' : ''} | ${cell(p.description ?? p.schema?.description ?? '')} |`,
      );
    lines.push('');
  }
  const body = op.requestBody?.content?.['application/json']?.schema;
  if (body) {
    const fields = fieldsOf(body, REQUEST_DEPTH);
    lines.push('Request body:', '');
    if (fields.length > 0) lines.push(...fieldTable(fields), '');
    else lines.push(`${cell(typeOf(body))}`, '');
  }
  for (const [status, response] of Object.entries(op.responses ?? {})) {
    if (!/^2\d\d$/.test(status)) continue;
    const schema = response.content?.['application/json']?.schema;
    const described = response.description && response.description !== 'Default Response';
    lines.push(`Answers ${status}${described ? `: ${cell(response.description ?? '')}` : ''}`, '');
    const fields = schema ? fieldsOf(schema, RESPONSE_DEPTH) : [];
    if (fields.length > 0) lines.push(...fieldTable(fields), '');
  }
  const others = Object.keys(op.responses ?? {}).filter((s) => !/^2\d\d$/.test(s));
  if (others.length > 0) lines.push(`Refusals: ${others.map(code).join(', ')}.`, '');
  return lines;
}

/** The whole reference: an index of routes by tag, then each route's parameters, body and answers. */
export function renderOpenApiMarkdown(doc: OpenApiDocument): string {
  const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ method, path, op: item[method] as Operation })),
  );
  const tags = [...new Set(operations.map((o) => o.op.tags?.[0] ?? 'other'))];
  const lines = [
    '# API reference',
    '',
    '<!-- Generated from the OpenAPI document the API serves at /docs/json: `npm run docs:api`. Do not edit. -->',
    '',
    doc.info?.description ? cell(doc.info.description) : '',
    '',
    'Signing, body limits, idempotency keys and who may call what: [Using the API](using-the-api.md).',
    'Every refusal answers `{ "error": "<the reason>", "details"?: ... }` with a 4xx status (5xx for',
    "the server's own faults). Amounts are strings of integer base units.",
    '',
    '| route | what |',
    '| --- | --- |',
    ...operations.map(({ method, path, op }) => {
      const route = `${method.toUpperCase()} ${path}`;
      return `| [${code(route)}](#${anchor(route)}) | ${cell(op.summary ?? '')} |`;
    }),
    '',
  ];
  for (const tag of tags) {
    lines.push(`## ${tag}`, '');
    for (const { method, path, op } of operations.filter((o) => (o.op.tags?.[0] ?? 'other') === tag))
      lines.push(...renderOperation(method, path, op));
  }
  return (
    lines
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}

/** GitHub's heading anchor for a heading that is one code span. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}
