import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';
import type { KeyPair } from '../../identity/keys.js';

/**
 * schemathesis (an OpenAPI fuzzer, from PyPI, in a venv outside the repository made by
 * test/schemathesis/ensure-venv.sh) against the live API's OpenAPI document. It talks to the API
 * through a signing proxy that signs every state-changing request as the client does (deployment
 * id, method, path, timestamp, SHA-256 of the exact body bytes) with the key of a registered,
 * funded account holding every role, so the signed routes are fuzzed past authentication.
 * Fails on any 5xx and on any answer that breaks the route's declared response schema.
 */
const EXAMPLES = Number(process.env.SCHEMATHESIS_EXAMPLES ?? 10);

describe('adversarial: schemathesis against the OpenAPI document, signed', () => {
  let app: TestApp;
  let proxy: Server;
  let proxyUrl: string;
  let signedCount = 0;

  beforeAll(async () => {
    app = await startTestApp({ workers: false });
    const actor = await participant(
      app.url,
      ['developer', 'governor', 'contributor', 'reviewer', 'validator', 'app-builder'],
      // No gOPEN, and no faucet: voting power minted or moved to generated addresses would stay in
      // circulation in the shared stack and lower every later test's turnout below quorum.
      { OPEN: '1000000' },
    );
    const keys = actor.keys as KeyPair;
    const { apiKey } = await actor.issueApiKey('schemathesis');
    const deploymentId = await deploymentIdOf(app.url);
    const target = new URL(app.url);
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const method = req.method ?? 'GET';
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)) headers[k] = v;
        if (method !== 'GET' && method !== 'HEAD') {
          const idempotencyKey = headers['idempotency-key'];
          Object.assign(
            headers,
            signRequest({
              deploymentId,
              method,
              path: req.url ?? '/',
              body,
              keys,
              ...(idempotencyKey ? { idempotencyKey } : {}),
            }),
          );
          signedCount++;
        }
        // Inference is paid with an API key rather than a signature: the proxy supplies the actor's.
        if (/\/infer$/.test((req.url ?? '').split('?')[0] ?? '') && !headers.authorization)
          headers.authorization = `Bearer ${apiKey}`;
        // node:http rather than fetch: it forwards any method (TRACE included) and any bytes as they are.
        const upstream = request(
          {
            host: target.hostname,
            port: target.port,
            method,
            path: req.url,
            headers: { ...headers, 'content-length': String(body.length) },
          },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        upstream.on('error', (err) => res.writeHead(502).end(err.message));
        upstream.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    await app?.close();
  });

  it('finds no 5xx and no response that breaks its schema', { timeout: 420_000 }, async () => {
    const st = execFileSync('bash', [resolve('test/schemathesis/ensure-venv.sh')], { encoding: 'utf8' }).trim();
    const args = [
      'run',
      `${proxyUrl}/docs/json`,
      '--url',
      proxyUrl,
      '--checks',
      'not_a_server_error,response_schema_conformance,content_type_conformance',
      '--phases',
      // The coverage phase trips an internal error of Hypothesis on CPython 3.11 (AST recursion depth).
      'examples,fuzzing',
      '--max-examples',
      String(EXAMPLES),
      '--workers',
      '2',
      '--exclude-path-regex',
      '^/(docs|metrics|console|v1/faucet)',
      '--suppress-health-check',
      'all',
      '--seed',
      process.env.SCHEMATHESIS_SEED ?? '13',
      '--no-color',
    ];
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      // Run outside the repository: schemathesis keeps a cache in its working directory.
      const child = spawn(st, args, {
        cwd: mkdtempSync(join(tmpdir(), 'commons-st-')),
        env: { ...process.env, NO_COLOR: '1' },
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('close', (c) => resolve({ code: c, output }));
    });
    // Its summary (operations, test cases, warnings) always; the failures in full when there are some.
    // Without its pytest-style banners: a log reader takes "=== 3 warnings in 10s ===" for the closing
    // line of a pytest run that executed no test.
    const report = output.slice(code === 0 ? -3000 : -20_000).replace(/^=+ .* =+$/gm, '');
    console.log(report);
    expect(code).toBe(0);
    expect(signedCount).toBeGreaterThan(0);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
