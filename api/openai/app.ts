import type { FastifyPluginCallbackTypebox } from '@fastify/type-provider-typebox';

/** The encapsulated Fastify instance the OpenAI-compatible routes are registered on. */
export type OpenAIApp = Parameters<FastifyPluginCallbackTypebox>[0];
