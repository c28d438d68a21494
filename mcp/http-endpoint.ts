import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { bodyText, signatureHeadersOf, type ApiRequest } from './requests.js';
import { createCommonsMcpServer, type ApiResponse, type ApiSender } from './server.js';

/** Where the API serves MCP over streamable HTTP. */
export const MCP_PATH = '/mcp';

const JsonRpcId = Type.Union([Type.String(), Type.Number(), Type.Null()]);
// The id is the client's (a string or a number, echoed back): left to the SDK, like the params.
const JsonRpcMessage = Type.Object(
  { jsonrpc: Type.Literal('2.0'), method: Type.Optional(Type.String()) },
  { additionalProperties: true, description: 'an MCP JSON-RPC message (initialize, tools/list, tools/call, ...)' },
);
const JsonRpcRefusal = Type.Object(
  {
    jsonrpc: Type.Optional(Type.Literal('2.0')),
    error: Type.Union([
      Type.String(),
      Type.Object({ code: Type.Integer(), message: Type.String() }, { additionalProperties: true }),
    ]),
    id: Type.Optional(JsonRpcId),
  },
  { additionalProperties: true, description: 'a JSON-RPC error, or the API error body when refused before MCP' },
);
const NotAllowed = Type.Object({ error: Type.String() });

/** The headers a paid call is authenticated with, as the MCP client sent them. */
function apiKeyHeaders(outer: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof outer.headers.authorization === 'string') out.authorization = outer.headers.authorization;
  const apiKey = outer.headers['x-api-key'];
  if (typeof apiKey === 'string') out['x-api-key'] = apiKey;
  return out;
}

/**
 * Sends a tool's request through this API's own routes (in process, no socket) with the MCP
 * request's credentials: its API key for paid calls, and for a signed tool the signature its
 * client made over that very request. The route checks both exactly as for any HTTP client.
 */
function injectSender(app: FastifyInstance, outer: FastifyRequest): ApiSender {
  return async (req: ApiRequest, meta): Promise<ApiResponse> => {
    const body = bodyText(req);
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (req.auth === 'api-key') Object.assign(headers, apiKeyHeaders(outer));
    if (req.auth === 'signature') Object.assign(headers, signatureHeadersOf(meta));
    const res = await app.inject({
      method: req.method,
      url: req.path,
      headers,
      ...(body === undefined ? {} : { payload: body }),
    });
    let json: unknown = res.body;
    try {
      json = JSON.parse(res.body);
    } catch {}
    return { status: res.statusCode, body: json };
  };
}

/**
 * POST /mcp: the Commons MCP server over streamable HTTP, stateless (a server and transport per
 * request, answering in JSON), so any API replica answers any request and nothing is held
 * between them. GET (a server-sent stream) and DELETE (a session) have nothing to serve: 405.
 */
export const mcpEndpoint: FastifyPluginCallback = (app, _opts, done) => {
  app.post(
    MCP_PATH,
    {
      // A contributed record may be as large as the contributions route allows, plus its envelope.
      bodyLimit: 3 * 1024 * 1024,
      schema: {
        summary:
          'MCP (streamable HTTP): tools to list and call models, read proposals, answer reviews and contribute records (docs/mcp.md)',
        tags: ['mcp'],
        body: JsonRpcMessage,
        response: {
          // A notification gets 202 with no body.
          200: JsonRpcMessage,
          '4xx': JsonRpcRefusal,
          '5xx': JsonRpcRefusal,
        },
      },
    },
    async (req, reply) => {
      const server = createCommonsMcpServer({ send: injectSender(app, req) });
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.hijack();
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(req.raw, reply.raw, req.body);
      } catch (err) {
        req.log.error({ err }, 'MCP request failed');
        if (!reply.raw.headersSent)
          reply.raw
            .writeHead(500, { 'content-type': 'application/json' })
            .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal error' }, id: null }));
      }
    },
  );
  for (const method of ['GET', 'DELETE'] as const)
    app.route({
      method,
      url: MCP_PATH,
      // Answered so the SDK's client knows there is no stream to open; not an operation of the API.
      schema: { hide: true, response: { 405: NotAllowed } },
      handler: async (_req, reply) =>
        reply
          .code(405)
          .header('allow', 'POST')
          .send({ error: `${method} ${MCP_PATH} is not served: POST MCP messages` }),
    });
  done();
};
