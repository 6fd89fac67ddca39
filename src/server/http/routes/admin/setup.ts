import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../../context';

/** The console's setup routes (issue 18). */
export const adminSetupRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async () => {};
