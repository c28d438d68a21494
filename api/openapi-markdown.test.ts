import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from './openapi-document.js';
import { fieldsOf, renderOpenApiMarkdown, typeOf } from './openapi-markdown.js';

describe('docs/api.md', () => {
  it('is what the OpenAPI document gives (run `npm run docs:api` after changing a route)', async () => {
    const expected = renderOpenApiMarkdown(await buildOpenApiDocument());
    const current = await readFile(new URL('../docs/api.md', import.meta.url), 'utf8');
    expect(current).toBe(expected);
  });
});

describe('renderOpenApiMarkdown', () => {
  it('names types with their bounds', () => {
    expect(
      typeOf({
        anyOf: [
          { type: 'string', enum: ['yes'] },
          { type: 'string', enum: ['no'] },
        ],
      }),
    ).toBe('"yes" | "no"');
    expect(typeOf({ type: 'string', minLength: 3, maxLength: 200 })).toBe('string (3–200 chars)');
    expect(typeOf({ type: 'array', items: { type: 'string' }, maxItems: 5 })).toBe('string[] (≤ 5 items)');
    expect(typeOf({ type: 'array', items: { type: 'string', maxLength: 9 } })).toBe('(string (≤ 9 chars))[]');
    expect(typeOf({ type: 'integer', minimum: 1 })).toBe('integer (≥ 1)');
  });

  it('lists nested fields by path', () => {
    const schema = {
      type: 'object',
      required: ['a'],
      properties: { a: { type: 'array', items: { type: 'object', properties: { b: { type: 'string' } } } } },
    };
    expect(fieldsOf(schema, 3).map((f) => [f.name, f.required])).toEqual([
      ['a', true],
      ['a[].b', false],
    ]);
  });

  it('renders each route with its body and answers', () => {
    const text = renderOpenApiMarkdown({
      paths: {
        '/v1/things': {
          post: {
            summary: 'Make a thing',
            tags: ['things'],
            requestBody: {
              content: { 'application/json': { schema: { type: 'object', properties: { n: { type: 'integer' } } } } },
            },
            responses: {
              '201': {
                content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string' } } } } },
              },
              '4XX': {},
            },
          },
        },
      },
    });
    expect(text).toContain('| [`POST /v1/things`](#post-v1things) | Make a thing |');
    expect(text).toContain('### `POST /v1/things`');
    expect(text).toContain('| `n` | integer |  |  |');
    expect(text).toContain('Answers 201');
    expect(text).toContain('Refusals: `4XX`.');
  });
});
