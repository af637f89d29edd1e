import type { TDynamicModelsSource } from './types/dynamicModels';

/**
 * Query key of the per-endpoint state of the user's dynamic model lists (`dynamic` of the
 * `POST /api/models/fetch` answer: source, fetchedAt, error, meta, groupBy). Written by
 * `useFetchUserModelsMutation`; read with the client's `useDynamicModelsState()`.
 */
export const DYNAMIC_MODELS_QUERY_KEY = ['dynamicModels'] as const;

export type TDynamicModelsState = Record<string, TDynamicModelsSource>;

/** The part of a QueryClient this module needs (structural, so any react-query v4 client fits) */
type StateWriter = {
  setQueryDefaults: (key: typeof DYNAMIC_MODELS_QUERY_KEY, options: { cacheTime: number }) => void;
  setQueryData: (
    key: typeof DYNAMIC_MODELS_QUERY_KEY,
    updater: (previous: TDynamicModelsState | undefined) => TDynamicModelsState,
  ) => unknown;
};

/**
 * Merges one answer's `dynamic` into the cached state: the endpoints it names are replaced
 * whole, the others are kept (an answer for one endpoint leaves the rest as they were).
 */
export function mergeDynamicModelsState(
  previous: TDynamicModelsState | undefined,
  dynamic: TDynamicModelsState | undefined | null,
): TDynamicModelsState {
  const next: TDynamicModelsState = { ...(previous ?? {}) };
  if (dynamic == null || typeof dynamic !== 'object') {
    return next;
  }
  for (const [endpoint, state] of Object.entries(dynamic)) {
    if (state != null && typeof state === 'object') {
      next[endpoint] = state;
    }
  }
  return next;
}

/**
 * Keeps the answer's `dynamic` in the query cache under {@link DYNAMIC_MODELS_QUERY_KEY}, for the
 * whole session: readers subscribe to the cache without a query observer, so without
 * `cacheTime: Infinity` react-query would drop the entry 5 minutes after it was written.
 */
export function storeDynamicModelsState(
  queryClient: StateWriter,
  dynamic: TDynamicModelsState | undefined | null,
): void {
  queryClient.setQueryDefaults(DYNAMIC_MODELS_QUERY_KEY, { cacheTime: Infinity });
  queryClient.setQueryData(DYNAMIC_MODELS_QUERY_KEY, (previous) =>
    mergeDynamicModelsState(previous, dynamic),
  );
}
