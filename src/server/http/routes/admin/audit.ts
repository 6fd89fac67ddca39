import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../../context';

/** The console's audit routes (issue 18). */
export const adminAuditRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async () => {};
