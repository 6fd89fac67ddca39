import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../../context';

/** The console's catalog routes (issue 18). */
export const adminCatalogRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async () => {};
