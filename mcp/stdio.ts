import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { deploymentIdOf, signRequest } from '../identity/request-signing.js';
import type { KeyPair } from '../identity/keys.js';
import { bodyText, type ApiRequest } from './requests.js';
import { createCommonsMcpServer, type ApiResponse, type ApiSender } from './server.js';

export interface StdioCredentials {
  /** The signing key (the CLI's key file): answers reviews and contributes as its address. */
  keys?: KeyPair;
  /** The inference API key paid calls are charged to. */
  apiKey?: string;
}

/**
 * Sends the tools' requests to a Commons API over HTTP, as the CLI does: signed here with the
 * local key, the API key as bearer. The API decides every request; this holds no rule of its own.
 */
export function httpSender(apiUrl: string, creds: StdioCredentials): ApiSender {
  const base = apiUrl.replace(/\/+$/, '');
  let deploymentId: Promise<string> | undefined;
  return async (req: ApiRequest): Promise<ApiResponse> => {
    const body = bodyText(req);
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (req.auth === 'api-key' && creds.apiKey) headers.authorization = `Bearer ${creds.apiKey}`;
    if (req.auth === 'signature') {
      if (!creds.keys)
        return { status: 401, body: { error: 'this MCP server has no key file to sign with (commons keys new)' } };
      deploymentId ??= deploymentIdOf(base);
      const id = await deploymentId.catch((err: unknown) => {
        deploymentId = undefined; // the API may come up later: ask again next time
        throw err;
      });
      Object.assign(
        headers,
        signRequest({ deploymentId: id, method: req.method, path: req.path, body, keys: creds.keys }),
      );
    }
    const res = await fetch(base + req.path, { method: req.method, headers, body });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, body: json };
  };
}

/** `commons mcp`: the MCP server on stdin/stdout until the client closes it. */
export async function serveMcpOverStdio(apiUrl: string, creds: StdioCredentials): Promise<void> {
  const server = createCommonsMcpServer({
    send: httpSender(apiUrl, creds),
    ...(creds.keys ? { signer: creds.keys.address } : {}),
  });
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => (server.server.onclose = resolve));
  await server.connect(transport);
  // The transport does not notice stdin ending by itself: the client closing it ends the server.
  process.stdin.once('end', () => void server.close());
  await closed;
}
