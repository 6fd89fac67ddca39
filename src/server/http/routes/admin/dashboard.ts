import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../../context';

/** The console's dashboard routes (issue 18). */
export const adminDashboardRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async () => {};
