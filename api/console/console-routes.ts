import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginCallback, FastifyReply } from 'fastify';
import type { ApiContext } from '../context.js';

/** The console's files: a fixed list, so no request path ever reaches the file system. */
export const CONSOLE_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'datanets.html': 'text/html; charset=utf-8',
  'datanets.js': 'text/javascript; charset=utf-8',
  'records-file.js': 'text/javascript; charset=utf-8',
  'upload.js': 'text/javascript; charset=utf-8',
  'signing.js': 'text/javascript; charset=utf-8',
  'sealed-read.js': 'text/javascript; charset=utf-8',
  'api.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'review.html': 'text/html; charset=utf-8',
  'review.js': 'text/javascript; charset=utf-8',
  'explorer.html': 'text/html; charset=utf-8',
  'explorer.js': 'text/javascript; charset=utf-8',
  'dom.js': 'text/javascript; charset=utf-8',
  'tally-rules.js': 'text/javascript; charset=utf-8',
  'explorer.css': 'text/css; charset=utf-8',
  'lifecycle.html': 'text/html; charset=utf-8',
  'lifecycle.js': 'text/javascript; charset=utf-8',
  'lifecycle.css': 'text/css; charset=utf-8',
};

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');

/** Libraries from npm the pages load from /console/vendor/ (their files, as the packages ship them). */
const VENDOR_FILES: Record<string, { file: string; type: string }> = {
  'chart.umd.min.js': {
    // The package exports no subpath for its browser build: found beside its main file (dist/).
    file: join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

/**
 * Serves the web console at /console/: static HTML and vanilla JS modules that sign requests in
 * the browser (WebCrypto Ed25519) and call the same public API as everyone else. The context is
 * unused today; taking it keeps the plugin's signature the same as the other route plugins.
 */
export const consoleRoutes =
  (_ctx?: ApiContext, opts: { dir?: string } = {}): FastifyPluginCallback =>
  (app, _opts, done) => {
    const dir = opts.dir ?? PUBLIC_DIR;
    // Read once at startup: the files are small and a missing one should fail the boot, not a request.
    const files = new Map([
      ...Object.entries(CONSOLE_FILES).map(
        ([name, type]) => [name, { type, body: readFileSync(join(dir, name)) }] as const,
      ),
      ...Object.entries(VENDOR_FILES).map(
        ([name, v]) => [`vendor/${name}`, { type: v.type, body: readFileSync(v.file) }] as const,
      ),
    ]);
    const hide = { schema: { hide: true } };

    app.get('/console', hide, async (_req, reply) => reply.redirect('/console/'));
    app.get('/console/', hide, async (_req, reply) => send(reply, 'index.html'));
    app.get<{ Params: { file: string } }>('/console/vendor/:file', hide, async (req, reply) => {
      const name = `vendor/${req.params.file}`;
      if (!files.has(name)) return reply.code(404).send({ error: `no console file ${name}` });
      return send(reply, name);
    });
    app.get<{ Params: { file: string } }>('/console/:file', hide, async (req, reply) => {
      if (!files.has(req.params.file)) return reply.code(404).send({ error: `no console file ${req.params.file}` });
      return send(reply, req.params.file);
    });

    function send(reply: FastifyReply, name: string) {
      const f = files.get(name)!;
      // The key lives in this origin's localStorage, so the console refuses to be framed and loads only its own scripts.
      return reply
        .header('content-type', f.type)
        .header('cache-control', 'no-cache')
        .header('x-frame-options', 'DENY')
        .header(
          'content-security-policy',
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
        )
        .send(f.body);
    }
    done();
  };
