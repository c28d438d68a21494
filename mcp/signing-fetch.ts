import { deploymentIdOf, signRequest } from '../identity/request-signing.js';
import type { KeyPair } from '../identity/keys.js';
import { SIGNATURE_META, bodyText, signedToolRequest } from './requests.js';

type Fetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

interface JsonRpcCall {
  method?: unknown;
  params?: { name?: unknown; arguments?: unknown; _meta?: Record<string, unknown> };
}

/**
 * A fetch for the MCP SDK's StreamableHTTPClientTransport that signs, with the user's key, the
 * request each signed tool call stands for (answer_review, contribute_record) and carries the
 * signature in the call's `_meta`. The key never leaves the client; the API verifies the signature
 * and refuses its replay on the route itself, as for any signed request.
 *
 *   new StreamableHTTPClientTransport(new URL(`${api}/mcp`), {
 *     fetch: signingFetch(keys, api),
 *     requestInit: { headers: { authorization: `Bearer ${apiKey}` } },
 *   })
 */
export function signingFetch(keys: KeyPair, apiUrl: string, opts: { deploymentId?: string; fetch?: Fetch } = {}) {
  const base = apiUrl.replace(/\/+$/, '');
  const send: Fetch = opts.fetch ?? fetch;
  let deploymentId: Promise<string> | undefined = opts.deploymentId ? Promise.resolve(opts.deploymentId) : undefined;

  async function sign(message: JsonRpcCall): Promise<boolean> {
    if (message.method !== 'tools/call' || typeof message.params?.name !== 'string') return false;
    const req = signedToolRequest(message.params.name, message.params.arguments);
    if (!req) return false;
    deploymentId ??= deploymentIdOf(base);
    const headers = signRequest({
      deploymentId: await deploymentId,
      method: req.method,
      path: req.path,
      body: bodyText(req),
      keys,
    });
    message.params._meta = { ...message.params._meta, [SIGNATURE_META]: headers };
    return true;
  }

  return async (url: string | URL, init?: RequestInit): Promise<Response> => {
    if (init?.method !== 'POST' || typeof init.body !== 'string') return send(url, init);
    let parsed: unknown;
    try {
      parsed = JSON.parse(init.body);
    } catch {
      return send(url, init);
    }
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpcCall[];
    let changed = false;
    for (const m of messages) if (await sign(m)) changed = true;
    return send(url, changed ? { ...init, body: JSON.stringify(parsed) } : init);
  };
}
