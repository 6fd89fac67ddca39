import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../../../context';

/** The console's settings routes (issue 18). */
export const adminSettingsRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async () => {};
