/**
 * The stand-in upstream as a process, for development machines without a GPU:
 *   npx tsx ml/external/stand-in/main.ts --port 8100
 * then COMMONS_INFERENCE_UPSTREAM_URL=http://127.0.0.1:8100 (and COMMONS_UPSTREAM_ADAPTER_DIR) for the
 * API. Prints one JSON line once listening, as serve.py does.
 */
import { parseArgs } from 'node:util';
import { startStandIn } from './server.js';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '8100' }, host: { type: 'string', default: '127.0.0.1' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535)
  throw new Error(`--port must be a port number (got "${values.port}")`);
const server = await startStandIn(port, values.host);
process.stdout.write(`${JSON.stringify({ type: 'listening', url: server.url })}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => void server.close().then(() => process.exit(0)));
