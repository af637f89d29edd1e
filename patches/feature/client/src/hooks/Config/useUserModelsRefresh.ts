import { useDebugValue, useEffect, useRef } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useFetchUserModelsMutation } from 'librechat-data-provider/react-query';
import { setDynamicModelsState } from './useDynamicModelsState';
import useKeepListedModel from './useKeepListedModel';

/** A tab hidden for at least this long refreshes the user's models when it becomes visible */
export const USER_MODELS_REFRESH_AFTER_HIDDEN_MS = 5 * 60 * 1000;

/** Its React DevTools label; `verify --runtime` finds this literal in the built bundle */
export const USER_MODELS_CLIENT_MARKER = 'librechat-dynmodels:client:user-models-refresh';

/**
 * Refreshes the user's dynamic model lists (`POST /api/models/fetch`, without `force`):
 * once when the user becomes authenticated (login or page load), and when the tab becomes
 * visible again after being hidden for 5 minutes or more. No timer runs while hidden:
 * the hook only remembers when the tab was hidden. Errors are ignored (the defaults stay).
 * The `dynamic` map of each answer is kept for `useDynamicModelsState`.
 * The current conversation follows its endpoint's list (`useKeepListedModel`).
 * Mount it once, at the app root.
 */
export default function useUserModelsRefresh(isAuthenticated: boolean) {
  useDebugValue(USER_MODELS_CLIENT_MARKER);
  useKeepListedModel(isAuthenticated);
  const queryClient = useQueryClient();
  const { mutate } = useFetchUserModelsMutation({
    onSuccess: (response) => setDynamicModelsState(queryClient, response?.dynamic),
  });
  const mutateRef = useRef(mutate);
  mutateRef.current = mutate;

  useEffect(() => {
    if (!isAuthenticated) {
      return;
    }

    const refresh = () => mutateRef.current({}, { onError: () => undefined });
    let hiddenAt: number | null = document.visibilityState === 'hidden' ? Date.now() : null;

    const onVisibilityChange = () => {
      if (document.visibilityState === 'hidden') {
        hiddenAt = hiddenAt ?? Date.now();
        return;
      }
      if (document.visibilityState !== 'visible' || hiddenAt == null) {
        return;
      }
      const hiddenFor = Date.now() - hiddenAt;
      hiddenAt = null;
      if (hiddenFor >= USER_MODELS_REFRESH_AFTER_HIDDEN_MS) {
        refresh();
      }
    };

    refresh();
    document.addEventListener('visibilitychange', onVisibilityChange);
    return () => {
      document.removeEventListener('visibilitychange', onVisibilityChange);
    };
  }, [isAuthenticated]);
}
