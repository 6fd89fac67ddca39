import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { GenerationInput } from '../../../../shared/catalog/request-schema';
import { useToast } from '../../../components/ui';
import { ApiError } from '../../../lib/api';
import { meQuery } from '../../../lib/auth';
import { creditsQuery } from '../../../lib/credits';
import { applyGeneration, createGeneration, newIdempotencyKey } from '../../../lib/generations';
import { modelsQuery } from '../../../lib/models';

export interface SubmitGenerationHandlers {
  /** the generation started */
  onStarted: () => void;
  /** the server refused it, or its answer never came */
  onFailed: (err: Error) => void;
}

/**
 * Sending a generation request: the idempotency key, the caches an answer changes (the list,
 * credits, the user, the models) and the "started" toast. What the form shows is left to the handlers.
 */
export function useSubmitGeneration({ onStarted, onFailed }: SubmitGenerationHandlers) {
  const { t } = useTranslation();
  const { toast } = useToast();
  const queryClient = useQueryClient();

  /**
   * The request being sent, or the last one whose answer never came (network failure, 5xx). Each
   * press gets a fresh Idempotency-Key, except a press that repeats such an unanswered request
   * unchanged: it reuses the key, so if the first one did arrive, the server answers with that
   * generation instead of starting a second one.
   */
  const attempt = useRef<{ key: string; body: string; inFlight: boolean; unanswered: boolean } | null>(null);

  const submit = useMutation({
    mutationFn: ({ input, key }: { input: GenerationInput; key: string }) => createGeneration(input, key),
    onSuccess: (generation) => {
      attempt.current = null;
      applyGeneration(queryClient, generation);
      void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
      onStarted();
      toast({ title: t('studio.started'), description: t('studio.startedBody'), tone: 'success' });
    },
    onError: (err) => {
      const status = err instanceof ApiError ? err.status : 0;
      if (attempt.current) attempt.current = { ...attempt.current, inFlight: false, unanswered: status === 0 || status >= 500 };
      const code = err instanceof ApiError ? err.code : 'unexpected';
      if (code === 'email_not_verified') void queryClient.invalidateQueries({ queryKey: meQuery.queryKey });
      if (code === 'insufficient_credits') void queryClient.invalidateQueries({ queryKey: creditsQuery.queryKey });
      if (code === 'model_unavailable' || code === 'model_retired') void queryClient.invalidateQueries({ queryKey: modelsQuery.queryKey });
      onFailed(err);
    },
  });

  return {
    pending: submit.isPending,
    /** a request is on its way: a second Enter or click in the same moment, before React has re-rendered the button as busy */
    inFlight: () => attempt.current?.inFlight ?? false,
    send(input: GenerationInput) {
      const body = JSON.stringify(input);
      const previous = attempt.current;
      const key = previous?.unanswered && previous.body === body ? previous.key : newIdempotencyKey();
      attempt.current = { key, body, inFlight: true, unanswered: false };
      submit.mutate({ input, key });
    },
  };
}
