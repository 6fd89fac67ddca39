import { systemClock, type Clock } from '../../adapters/clock';
import type { ProviderRegistry } from '../../adapters/providers';
import { ProviderError, type ProviderFailure, type ProviderId, type ProviderReference } from '../../adapters/providers/provider';
import type { Database } from '../../db/client';
import { AppError } from '../../errors';
import type { GenerationRequest } from '../../../shared/catalog/request-schema';
import { recordRouteFailure, recordRouteSuccess } from './catalog.repo';
import type { EffectiveModel, EffectiveRoute } from './catalog.service';

/**
 * Routing and failover at submit: a request goes to the first healthy, available route of its
 * model that serves its mode. A retryable failure (5xx, 429, network) before the upstream accepted
 * the task moves on to the next route and counts against the failing route's health; a failure that
 * may have been accepted upstream (`maybeAccepted`) never moves on — the caller must reconcile.
 * Routes marked unhealthy are tried only after every healthy one.
 */

export interface RouteAttempt {
  provider: ProviderId;
  upstreamModel: string;
  failure: ProviderFailure;
}

export interface Dispatched {
  provider: ProviderId;
  upstreamModel: string;
  upstreamId: string;
  /** failed routes tried before the one that accepted */
  attempts: RouteAttempt[];
}

/** The submit may have been accepted by `provider`: reconcile before anything else. */
export class DispatchOutcomeUnknown extends Error {
  constructor(
    readonly provider: ProviderId,
    readonly upstreamModel: string,
    readonly error: ProviderError,
    readonly attempts: RouteAttempt[],
  ) {
    super(`${provider} may have accepted the task (${error.message})`);
    this.name = 'DispatchOutcomeUnknown';
  }
}

/** Every route failed; `last` says why (retryable -> try again later). */
export class AllRoutesFailed extends Error {
  constructor(
    readonly last: ProviderError,
    readonly attempts: RouteAttempt[],
  ) {
    super(`every route failed; last: ${last.provider} ${last.kind}: ${last.message}`);
    this.name = 'AllRoutesFailed';
  }
}

export interface RouterDeps {
  database: Database;
  providers: ProviderRegistry;
  failureThreshold: number;
  cooldownSeconds: number;
  /** our webhook URL for a provider's callbacks, when it sends them */
  callbackUrl?: (provider: ProviderId) => string | undefined;
  /** when a route's rest ends, and the time of its failures and successes (default: the system clock) */
  clock?: Pick<Clock, 'now'>;
}

export interface SubmitOptions {
  /** called before each route is tried (record it: after a crash we must know where a create went) */
  onAttempt?: (provider: ProviderId, upstreamModel: string) => Promise<void>;
  /** overrides the router's callback URL for this task (e.g. with the task id in it) */
  callbackUrl?: (provider: ProviderId) => string | undefined;
}

export interface ProviderRouter {
  /** The routes a request would try, in order. */
  plan(model: EffectiveModel, request: GenerationRequest): EffectiveRoute[];
  submit(model: EffectiveModel, request: GenerationRequest, references: ProviderReference[], idempotencyKey: string, opts?: SubmitOptions): Promise<Dispatched>;
}

/** Failures that say "this route, not this request": try the next route. */
const movesOn = (err: ProviderError) => !err.maybeAccepted && (err.kind === 'retryable' || err.kind === 'auth_config');

export function createProviderRouter(deps: RouterDeps): ProviderRouter {
  const clock = deps.clock ?? systemClock;

  function plan(model: EffectiveModel, request: GenerationRequest): EffectiveRoute[] {
    const usable = model.routes.filter((r) => r.available && r.upstreamModels[request.mode]);
    const t = clock.now();
    const healthy = usable.filter((r) => !r.unhealthyUntil || r.unhealthyUntil <= t);
    const resting = usable.filter((r) => r.unhealthyUntil && r.unhealthyUntil > t);
    return [...healthy, ...resting];
  }

  async function submit(
    model: EffectiveModel,
    request: GenerationRequest,
    references: ProviderReference[],
    idempotencyKey: string,
    opts: SubmitOptions = {},
  ): Promise<Dispatched> {
    const callbackUrl = opts.callbackUrl ?? deps.callbackUrl;
    // the validated options go to the provider as they are; model and references are mapped per route
    const { model: _model, references: _references, ...options } = request;
    const routes = plan(model, request);
    if (routes.length === 0) {
      throw new AppError('model_unavailable', `${model.name} has no available route for ${request.mode}.`, 503);
    }
    const attempts: RouteAttempt[] = [];
    let last: ProviderError | undefined;
    for (const route of routes) {
      const upstreamModel = route.upstreamModels[request.mode];
      if (!upstreamModel) continue; // plan() keeps only routes that serve the mode
      const provider = deps.providers.get(route.provider);
      const healthKey = { modelId: model.id, provider: route.provider };
      try {
        await opts.onAttempt?.(route.provider, upstreamModel);
        const { upstreamId } = await provider.submit(
          {
            ...options,
            modelId: model.id,
            upstreamModel,
            references,
            callbackUrl: provider.supportsCallbacks ? callbackUrl?.(route.provider) : undefined,
          },
          idempotencyKey,
        );
        await recordRouteSuccess(deps.database, healthKey, clock.now());
        return { provider: route.provider, upstreamModel, upstreamId, attempts };
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        if (err.maybeAccepted) throw new DispatchOutcomeUnknown(route.provider, upstreamModel, err, attempts);
        attempts.push({ provider: route.provider, upstreamModel, failure: err.toFailure() });
        last = err;
        if (!movesOn(err)) break;
        await recordRouteFailure(deps.database, healthKey, `${err.kind}: ${err.message}`, deps.failureThreshold, deps.cooldownSeconds, clock.now());
      }
    }
    if (!last) throw new AppError('model_unavailable', `${model.name} has no available route for ${request.mode}.`, 503);
    throw new AllRoutesFailed(last, attempts);
  }

  return { plan, submit };
}
