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

/** Keys of `models.filters` a model can be judged by */
export type TDynamicModelFilterKey = 'maxInputPrice' | 'maxOutputPrice' | 'freeOnly' | 'vision' | 'tools';

/** What the provider (or the admin's models.labels) says about one fetched model; every field optional */
export type TDynamicModelMeta = {
  /** `models.labels[id]` if set, else the provider's name */
  label?: string;
  description?: string;
  /** Input tokens */
  contextWindow?: number;
  maxOutputTokens?: number;
  /** USD per 1M input tokens */
  inputPrice?: number;
  /** USD per 1M output tokens */
  outputPrice?: number;
  /** Known to be supported */
  capabilities?: TDynamicModelCapability[];
  /** Known NOT to be supported (the provider lists what the model takes, and this is not in it) */
  lacks?: TDynamicModelCapability[];
  /** Filters of `models.filters` this model could not be judged by (kept, marked) */
  unchecked?: TDynamicModelFilterKey[];
};

/** Where the model list of a dynamic custom endpoint comes from, for the requesting user */
export type TDynamicModelsSource = {
  /** `user`: fetched with the user's own key; `default`: the configured defaults */
  source: 'user' | 'default';
  /** Epoch milliseconds of the last successful fetch, `null` if none */
  fetchedAt: number | null;
  error?: TDynamicModelsError;
  /** Per listed model id, only for source `user` */
  meta?: Record<string, TDynamicModelMeta>;
  /** `models.groupBy` from librechat.yaml */
  groupBy?: 'prefix';
  /** Epoch milliseconds of the user's last key save or revoke for this endpoint, if recent */
  keyChangedAt?: number;
};

/** Why a dynamic endpoint's model is not in the user's list */
export type TModelNotListedReason = 'key_changed' | 'not_listed' | 'no_key';

/** `validateModel`'s refusal (the error event's text, as JSON) of a model the user's list lacks */
export type TModelNotListedError = {
  type: 'model_not_listed';
  model: string;
  endpoint: string;
  reason: TModelNotListedReason;
  /** `endpoint|model`, as LibreChat's own illegal-model error */
  info: string;
  keyChangedAt?: number;
  /** Category of a failed fetch when the defaults are listed */
  error?: TDynamicModelsError;
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
