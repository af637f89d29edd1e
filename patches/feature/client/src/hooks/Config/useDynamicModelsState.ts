import { useQuery } from '@tanstack/react-query';
import type { QueryClient } from '@tanstack/react-query';
import type { TDynamicModelsSource } from 'librechat-data-provider';

/** React-query key of the `dynamic` map of the last `POST /api/models/fetch` answer */
export const DYNAMIC_MODELS_QUERY_KEY = ['dynamicModels'];

export type TDynamicModelsState = Record<string, TDynamicModelsSource>;

/** Stores the `dynamic` map of a `POST /api/models/fetch` answer */
export function setDynamicModelsState(
  queryClient: QueryClient,
  dynamic: TDynamicModelsState | undefined,
) {
  if (dynamic && typeof dynamic === 'object') {
    queryClient.setQueryData<TDynamicModelsState>(DYNAMIC_MODELS_QUERY_KEY, dynamic);
  }
}

/**
 * Per dynamic endpoint: where its list comes from (`user` or `default`), when it was fetched,
 * the error category and when the user's key last changed. Never fetches: only the answers of
 * `POST /api/models/fetch` fill it; undefined until the first one.
 */
export default function useDynamicModelsState(): TDynamicModelsState | undefined {
  const { data } = useQuery<TDynamicModelsState>(DYNAMIC_MODELS_QUERY_KEY, {
    enabled: false,
    staleTime: Infinity,
    cacheTime: Infinity,
  });
  return data;
}
