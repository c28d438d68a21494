// Server-sent events written by hand on a hijacked reply: the status and headers go first (after
// the fee is committed), then one `data:` line per event, with back-pressure, and `[DONE]`.
import type { FastifyReply } from 'fastify';

export interface EventSink {
  /** Writes one event; false once the client has gone (the stream should stop). */
  send(data: unknown, event?: string): Promise<boolean>;
  /** Writes OpenAI's `[DONE]` marker (chat completions) and ends the response. */
  end(done?: boolean): Promise<void>;
  /** Aborted when the client hangs up. */
  readonly signal: AbortSignal;
}

export function openEventStream(
  reply: FastifyReply,
  headers: Record<string, string>,
  signal: AbortController,
): EventSink {
  reply.hijack();
  const res = reply.raw;
  res.on('close', () => signal.abort());
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // nginx (and proxies that follow it) pass each event on at once instead of buffering the body.
    'x-accel-buffering': 'no',
  });
  const write = async (text: string) => {
    if (res.destroyed || res.writableEnded) return false;
    if (!res.write(text)) await new Promise<void>((r) => res.once('drain', r).once('close', r));
    return !res.destroyed;
  };
  return {
    signal: signal.signal,
    send: (data, event) => write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`),
    async end(done = false) {
      if (done) await write('data: [DONE]\n\n');
      if (!res.destroyed && !res.writableEnded) res.end();
    },
  };
}
