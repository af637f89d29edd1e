import { useCallback, useContext, useSyncExternalStore } from 'react';
import { defaultContext } from '@tanstack/react-query';
import { DYNAMIC_MODELS_QUERY_KEY } from 'librechat-data-provider';
import type { TDynamicModelsSource, TDynamicModelsState } from 'librechat-data-provider';

const EMPTY: TDynamicModelsState = {};
const noSubscription = () => () => undefined;

/**
 * The state of the user's dynamic model lists as the last `POST /api/models/fetch` answered it,
 * per endpoint (source, fetchedAt, error, meta, groupBy), read from the query cache under
 * `DYNAMIC_MODELS_QUERY_KEY`; `{}` before the first answer. Never fetches by itself:
 * `useFetchUserModelsMutation` writes it. With an endpoint name: that endpoint's state,
 * `undefined` when it is not a dynamic endpoint (or not answered yet).
 *
 * It subscribes to the cache instead of mounting a query observer per caller (one per model row),
 * and renders as "no state" outside a `QueryClientProvider` (LibreChat's own component specs).
 */
export function useDynamicModelsState(): TDynamicModelsState;
export function useDynamicModelsState(endpoint: string): TDynamicModelsSource | undefined;
export function useDynamicModelsState(
  endpoint?: string,
): TDynamicModelsState | TDynamicModelsSource | undefined {
  const queryClient = useContext(defaultContext);
  const subscribe = useCallback(
    (onChange: () => void) => {
      if (!queryClient) {
        return noSubscription();
      }
      return queryClient.getQueryCache().subscribe((event) => {
        if (event?.query?.queryKey?.[0] === DYNAMIC_MODELS_QUERY_KEY[0]) {
          onChange();
        }
      });
    },
    [queryClient],
  );
  const getSnapshot = useCallback(
    () =>
      queryClient?.getQueryData<TDynamicModelsState>([...DYNAMIC_MODELS_QUERY_KEY]) ?? EMPTY,
    [queryClient],
  );
  const state = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
  return endpoint == null ? state : state[endpoint];
}

export default useDynamicModelsState;
