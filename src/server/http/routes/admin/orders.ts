import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../../context';

/** The console's orders routes (issue 18). */
export const adminOrdersRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async () => {};
