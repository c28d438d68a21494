import { beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from './openapi-document.js';
import type { OpenApiDocument } from './openapi-markdown.js';

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/**
 * The OpenAPI document is the API's contract: every route states what it answers. A route added
 * without a response schema for its success status fails here. No stack is needed: nothing
 * connects until a request is served (postgres.js and the Temporal client are lazy).
 */
describe('OpenAPI document (/docs/json)', () => {
  let doc: OpenApiDocument;

  beforeAll(async () => {
    doc = await buildOpenApiDocument();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.has(method))
        .map(([method, op]) => ({ route: `${method.toUpperCase()} ${path}`, responses: op.responses ?? {} })),
    );

  it('lists the public routes', () => {
    const routes = operations().map((o) => o.route);
    expect(routes.length).toBeGreaterThanOrEqual(25);
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/proposals',
        'GET /v1/proposals/{id}',
        'POST /v1/datanets/{id}/contributions/batch',
        'POST /v1/models/{name}/infer',
        'GET /healthz',
        'GET /livez',
      ]),
    );
  });

  it('gives every route a response schema for its success status', () => {
    const missing = operations()
      .filter(({ responses }) => {
        const success = Object.entries(responses).filter(([status]) => /^2\d\d$/.test(status));
        return success.length === 0 || success.some(([, r]) => !r.content?.['application/json']?.schema);
      })
      .map((o) => o.route);
    expect(missing).toEqual([]);
  });

  it('documents the error body of every route that may refuse a request', () => {
    const missing = operations()
      .filter((o) => o.route !== 'GET /healthz' && o.route !== 'GET /livez')
      .filter(({ responses }) => {
        const schema = responses['4XX']?.content?.['application/json']?.schema as
          { properties?: Record<string, unknown>; required?: string[] } | undefined;
        return !schema?.properties?.error || !schema.required?.includes('error');
      })
      .map((o) => o.route);
    expect(missing).toEqual([]);
  });
});
