import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { KeyPair } from '../../identity/keys.js';
import { signingFetch } from '../../mcp/signing-fetch.js';
import { commonsBin } from './commons-bin.js';

/** What a tool call answers, as the tests read it. */
export interface ToolAnswer {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
  text: string;
}

/** An MCP session with the SDK's own client. */
export interface McpSession {
  client: Client;
  call(name: string, args: Record<string, unknown>): Promise<ToolAnswer>;
  close(): Promise<void>;
}

function session(client: Client): McpSession {
  return {
    client,
    async call(name, args) {
      const r = await client.callTool({ name, arguments: args });
      const content = (r.content ?? []) as { type: string; text?: string }[];
      return {
        ...(r.isError ? { isError: true } : {}),
        ...(r.structuredContent ? { structuredContent: r.structuredContent as Record<string, unknown> } : {}),
        text: content.map((c) => c.text ?? '').join(''),
      };
    },
    close: () => client.close(),
  };
}

/**
 * The API's /mcp through the SDK's StreamableHTTPClientTransport: with `keys`, signed tool calls
 * are signed by mcp/signing-fetch.ts; `fetch` sits under it (an attacker's proxy, a recorder).
 */
export async function mcpOverHttp(
  apiUrl: string,
  opts: { keys?: KeyPair; apiKey?: string; fetch?: FetchLike } = {},
): Promise<McpSession> {
  const base: FetchLike = opts.fetch ?? fetch;
  const transport = new StreamableHTTPClientTransport(new URL(`${apiUrl}/mcp`), {
    fetch: opts.keys ? signingFetch(opts.keys, apiUrl, { fetch: base }) : base,
    ...(opts.apiKey ? { requestInit: { headers: { authorization: `Bearer ${opts.apiKey}` } } } : {}),
  });
  const client = new Client({ name: 'commons-test', version: '1.0.0' });
  await client.connect(transport);
  return session(client);
}

/**
 * `commons mcp` spawned by the SDK's StdioClientTransport against the test API: the `commons` an
 * app installs (the @commons/cli bin, built from this checkout), so the MCP SDK's lazy chunk is tested too.
 */
export async function mcpOverStdio(apiUrl: string, opts: { keyFile: string; apiKey?: string }): Promise<McpSession> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [await commonsBin(), 'mcp'],
    cwd: process.cwd(),
    env: {
      ...env,
      COMMONS_API_URL: apiUrl,
      COMMONS_KEY_FILE: opts.keyFile,
      ...(opts.apiKey ? { COMMONS_API_KEY: opts.apiKey } : {}),
    },
    stderr: 'inherit',
  });
  const client = new Client({ name: 'commons-test', version: '1.0.0' });
  await client.connect(transport);
  return session(client);
}
