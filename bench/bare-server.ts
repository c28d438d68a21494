// The baseline for bench:infer: a bare Fastify route on the same machine, doing no work.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post('/bare', (req, reply) =>
  reply.send({ ok: true, echo: (req.body as { input?: string } | undefined)?.input?.length ?? 0 }),
);
const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`LISTENING ${url}\n`);
