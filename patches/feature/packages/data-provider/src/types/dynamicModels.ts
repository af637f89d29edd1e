import type { TModelsConfig } from '../types';

/** Error categories of a failed per-user model fetch (never a provider message) */
export type TDynamicModelsError =
  | 'unauthorized'
  | 'unreachable'
  | 'timeout'
  | 'bad_response'
  | 'blocked_url'
  | 'canceled'
  | 'filtered_out'
  | 'filters_unavailable';

export type TDynamicModelCapability = 'vision' | 'tools';
export type TDynamicModelFilterKey = 'maxInputPrice' | 'maxOutputPrice' | 'freeOnly' | 'vision' | 'tools';
export type TDynamicModelMeta = {
  label?: string; description?: string; contextWindow?: number; maxOutputTokens?: number;
  inputPrice?: number;  /* USD per 1M */ outputPrice?: number; capabilities?: TDynamicModelCapability[];
  unchecked?: TDynamicModelFilterKey[];
};

/** Where the model list of a dynamic custom endpoint comes from, for the requesting user */
export type TDynamicModelsSource = {
  /** `user`: fetched with the user's own key; `default`: the configured defaults */
  source: 'user' | 'default';
  /** Epoch milliseconds of the last successful fetch, `null` if none */
  fetchedAt: number | null;
  error?: TDynamicModelsError;
  meta?: Record<string, TDynamicModelMeta>;
  groupBy?: 'prefix';
};

/** Body of `POST /api/models/fetch` */
export type TFetchUserModelsRequest = {
  /** Name of one dynamic custom endpoint; all dynamic endpoints when omitted */
  endpoint?: string;
  /** Refetch now instead of only entries older than 5 minutes */
  force?: boolean;
};

/** Answer of `POST /api/models/fetch` */
export type TFetchUserModelsResponse = {
  /** The user's full models config, user lists overlaid on the defaults */
  models: TModelsConfig;
  /** Per dynamic endpoint name */
  dynamic: Record<string, TDynamicModelsSource>;
};

/** Answer of `POST /api/models/fetch` with status 429 */
export type TFetchUserModelsRateLimited = {
  error: 'rate_limited';
  /** Seconds */
  retryAfter: number;
};
