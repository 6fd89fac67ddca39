import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../../context';

/** The console's generations routes (issue 18). */
export const adminGenerationsRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async () => {};
