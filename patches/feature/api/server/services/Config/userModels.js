const crypto = require('crypto');
const {
  EModelEndpoint,
  ViolationTypes,
  extractEnvVariable,
  filterModelList,
  filterModelsByMeta,
} = require('librechat-data-provider');
const {
  logger,
  isUserProvided,
  resolveConfigSecret,
  resolveHeaders,
  extractBaseURL,
  normalizeEndpointName,
  loadAppConfig,
  getUserKey,
  getUserKeyExpiry,
  getUserModelsCache,
  tokenConfigTarget,
  getRedisClient,
} = require('./userModelsCompat');
const { fetchUserModelList, MAX_LABEL_LENGTH } = require('./userModelsFetch');

const DEFAULT_TTL_SECONDS = 86400;
/** A failed fetch is remembered this long, so a broken provider is not hammered. */
const FAILURE_TTL_MS = 60 * 1000;
/**
 * Max-age of a fetched list: an older one is still served, and refreshed behind the request
 * (`POST /api/models/fetch` without `force` waits for the refetch instead).
 */
const REFRESH_AFTER_MS = 5 * 60 * 1000;
/** A forced fetch is allowed once per user and endpoint in this window. */
const FORCE_WINDOW_MS = 10 * 1000;

/**
 * Where the release runs with Redis, one instance at a time fetches a user's list for one key: a
 * lock (`SET NX PX`) that expires, so a holder that died frees it. The others poll meanwhile.
 */
const FLIGHT_LOCK_MS = 30 * 1000;
const FLIGHT_POLL_MS = 200;
/** Deletes the lock only while it is still this holder's (compare and delete). */
const RELEASE_LOCK_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** Upstream fetches one user may run at once (more wait for a slot). */
const MAX_FETCHES_PER_USER = 2;
const DEFAULT_MAX_FETCHES = 16;

/**
 * Pending upstream fetches, keyed by cache entry key: concurrent requests for the same user and
 * credentials share one upstream request, which an invalidation of its key aborts.
 * @type {Map<string, { promise: Promise<UserModelsEntry>, controller: AbortController }>}
 */
const pending = new Map();

/** Entry keys whose background refresh is reading the key or fetching. */
const refreshing = new Set();

/**
 * Forced-fetch slots taken in this process: `${userId}:${name}` -> end of the window (ms).
 * @type {Map<string, number>}
 */
const forceSlots = new Map();

/**
 * Runs at most `limit()` tasks at once; the others wait in order.
 * @param {() => number} limit
 */
function createLimiter(limit) {
  let active = 0;
  const waiting = [];
  return {
    get busy() {
      return active > 0 || waiting.length > 0;
    },
    async run(task) {
      while (active >= limit()) {
        await new Promise((resolve) => waiting.push(resolve));
      }
      active += 1;
      try {
        return await task();
      } finally {
        active -= 1;
        waiting.shift()?.();
      }
    },
  };
}

/** @returns {number} Upstream fetches this process runs at once (DYNAMIC_MODELS_MAX_FETCHES). */
function getMaxFetches() {
  const value = parseInt(process.env.DYNAMIC_MODELS_MAX_FETCHES ?? '', 10);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_MAX_FETCHES;
}

const processFetches = createLimiter(getMaxFetches);
/** @type {Map<string, ReturnType<typeof createLimiter>>} */
const userFetches = new Map();

/**
 * Runs an upstream fetch within the per-user and per-process bounds.
 * @template T
 * @param {string} userId
 * @param {() => Promise<T>} task
 * @returns {Promise<T>}
 */
async function withFetchSlot(userId, task) {
  let limiter = userFetches.get(userId);
  if (!limiter) {
    limiter = createLimiter(() => MAX_FETCHES_PER_USER);
    userFetches.set(userId, limiter);
  }
  try {
    return await limiter.run(() => processFetches.run(task));
  } finally {
    if (!limiter.busy) {
      userFetches.delete(userId);
    }
  }
}

/**
 * In-process invalidation counters per `${userId}:${endpoint}`: a fetch that started before an
 * invalidation does not write its (now stale) index entry back.
 * @type {Map<string, number>}
 */
const epochs = new Map();

/**
 * @typedef {Object} UserModelsEntry
 * @property {string[] | null} models
 * @property {Record<string, TDynamicModelMeta>} [meta] - What the provider says, per listed id
 *   (in the cache under its own key, `metaKeyOf`; read only when asked for).
 * @property {true} [hasMeta] - The cached list has metadata under `metaKeyOf(entryKey)`.
 * @property {number} fetchedAt
 * @property {string} [error]
 * @property {number} [failedAt] - A refetch failed at this time; `models` are the previous list.
 *
 * @typedef {Object} UserModelsState
 * @property {string[]} models - The list to show (the user's, or the configured defaults).
 * @property {'user' | 'default'} source
 * @property {number | null} fetchedAt
 * @property {string} [error]
 * @property {Record<string, TDynamicModelMeta>} [meta] - Per listed model (source `user` only).
 * @property {'prefix'} [groupBy] - `models.groupBy`.
 *
 * @typedef {Object} DynamicEndpoint
 * @property {string} name - Normalized endpoint name (the key in the models config).
 * @property {Partial<TEndpoint>} config
 * @property {boolean} userProvidesKey
 * @property {boolean} userProvidesURL
 * @property {string} apiKey - The configured (admin) value, env variables resolved.
 * @property {string} baseURL - The configured (admin) value, env variables resolved.
 * @property {string[]} defaults - `models.default` names.
 * @property {string[] | undefined} allowedAddresses - `endpoints.allowedAddresses` (v0.8.6+).
 * @property {ModelFilters | undefined} filters - `models.include` / `models.exclude`.
 * @property {object | undefined} metaFilters - `models.filters` (by price and abilities).
 * @property {Record<string, string> | undefined} labels - `models.labels` (id -> label).
 * @property {'prefix' | undefined} groupBy - `models.groupBy`.
 * @property {'litellm' | undefined} metadata - `models.metadata`.
 * @property {string} configDigest - Changes when the endpoint's credentials config, its filters,
 *   its metadata source or the address policy for user URLs changes.
 *
 * @typedef {Object} ModelFilters
 * @property {string[]} [include]
 * @property {string[]} [exclude]
 *
 * @typedef {Object} FilteredEndpoint - A custom endpoint that fetches one list for everyone
 *   (the admin's key) and narrows it with `models.include` / `models.exclude`.
 * @property {string} name
 * @property {ModelFilters} filters
 * @property {string[]} defaults
 */

const getCache = () => getUserModelsCache();

/** @returns {number} TTL of a fetched list in ms (DYNAMIC_MODELS_TTL, seconds). */
function getTTLms() {
  const value = parseInt(process.env.DYNAMIC_MODELS_TTL ?? '', 10);
  return (Number.isFinite(value) && value > 0 ? value : DEFAULT_TTL_SECONDS) * 1000;
}

const sha256 = (value) => crypto.createHash('sha256').update(value).digest('hex');

/**
 * A custom endpoint is dynamic when it fetches its models and the user provides the key or URL.
 * @param {Partial<TEndpoint> | undefined} endpointConfig
 * @returns {boolean}
 */
function isDynamicEndpoint(endpointConfig) {
  if (!endpointConfig || !endpointConfig.models?.fetch) {
    return false;
  }
  return (
    isUserProvided(resolveConfigSecret(endpointConfig.apiKey ?? '')) ||
    isUserProvided(extractEnvVariable(endpointConfig.baseURL ?? ''))
  );
}

/**
 * `models.include` / `models.exclude` of an endpoint (lists of strings only), or undefined.
 * @param {Partial<TEndpoint>['models']} models
 * @returns {ModelFilters | undefined}
 */
function readModelFilters(models) {
  const patterns = (value) =>
    Array.isArray(value) && value.length > 0
      ? value.filter((pattern) => typeof pattern === 'string')
      : undefined;
  const include = patterns(models?.include);
  const exclude = patterns(models?.exclude);
  return include || exclude ? { include, exclude } : undefined;
}

/**
 * `models.filters` when it is an object (the config check validates its keys), else undefined.
 * @param {Partial<TEndpoint>['models']} models
 */
function readMetaFilters(models) {
  const filters = models?.filters;
  return filters && typeof filters === 'object' && !Array.isArray(filters) ? filters : undefined;
}

/**
 * `models.labels`: string labels only, cut to the label bound, in a map without prototype.
 * @param {Partial<TEndpoint>['models']} models
 * @returns {Record<string, string> | undefined}
 */
function readLabels(models) {
  const labels = models?.labels;
  if (!labels || typeof labels !== 'object' || Array.isArray(labels)) {
    return undefined;
  }
  const out = Object.create(null);
  for (const [id, label] of Object.entries(labels)) {
    if (typeof label === 'string' && label.trim()) {
      out[id] = Array.from(label.trim()).slice(0, MAX_LABEL_LENGTH).join('');
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

let warnedUnfiltered = false;

/**
 * Whether filters cannot be applied: the data provider lacks the filter module (only the backend
 * applied, or not rebuilt). Then nothing fetched is served (fail closed); logs the fix once.
 * @param {ModelFilters | undefined} filters
 * @param {object | undefined} [metaFilters] - `models.filters`
 */
function filtersUnavailable(filters, metaFilters) {
  const missing =
    (filters && typeof filterModelList !== 'function') ||
    (metaFilters && typeof filterModelsByMeta !== 'function');
  if (!missing) {
    return false;
  }
  if (!warnedUnfiltered) {
    warnedUnfiltered = true;
    logger.error(
      '[dynamicModels] models.include/exclude/filters need the patched data provider: run `npm run build:data-provider` in the LibreChat checkout and restart; until then endpoints with filters serve models.default only',
    );
  }
  return true;
}

/**
 * The ids of a fetched list that the endpoint's filters allow (none without the filter module).
 * @param {string[]} models
 * @param {ModelFilters | undefined} filters
 * @returns {string[]}
 */
function applyModelFilters(models, filters) {
  if (filtersUnavailable(filters)) {
    return [];
  }
  return filters ? filterModelList(models, filters) : models;
}

/**
 * A shared (admin key) list narrowed by the endpoint's filters. The defaults are never filtered:
 * a list that is the defaults (the fetch failed) stays, and a list the filters empty becomes them.
 * @param {string[]} list
 * @param {FilteredEndpoint} endpoint
 * @returns {string[]}
 */
function filterSharedList(list, endpoint) {
  const defaults = new Set(endpoint.defaults);
  if (list.length === defaults.size && list.every((model) => defaults.has(model))) {
    return list;
  }
  const kept = applyModelFilters(list, endpoint.filters);
  return kept.length > 0 ? kept : [...endpoint.defaults];
}

const defaultNames = (models) =>
  Array.isArray(models?.default)
    ? models.default.map((model) => (typeof model === 'string' ? model : model.name))
    : [];

/**
 * The custom endpoints of an app config the feature handles, named as `loadConfigModels` names
 * them (a later entry with the same name replaces an earlier one):
 * - `dynamic`: per-user lists (a user-provided key or URL, and `models.fetch`);
 * - `filtered`: one fetched list for everyone, narrowed by `models.include` / `models.exclude`.
 * @param {AppConfig | undefined} appConfig
 * @returns {{ dynamic: DynamicEndpoint[], filtered: FilteredEndpoint[] }}
 */
function getCustomEndpoints(appConfig) {
  const custom = appConfig?.endpoints?.[EModelEndpoint.custom];
  if (!Array.isArray(custom)) {
    return { dynamic: [], filtered: [] };
  }
  const allowedAddresses = appConfig?.endpoints?.allowedAddresses ?? undefined;
  /** @type {Map<string, DynamicEndpoint>} */
  const byName = new Map();
  /** @type {Map<string, FilteredEndpoint>} */
  const filteredByName = new Map();
  for (const endpoint of custom) {
    if (!endpoint?.baseURL || !endpoint.apiKey || !endpoint.name || !endpoint.models) {
      continue;
    }
    const name = normalizeEndpointName(endpoint.name);
    const filters = readModelFilters(endpoint.models);
    byName.delete(name);
    filteredByName.delete(name);
    if (!isDynamicEndpoint(endpoint)) {
      if (endpoint.models.fetch && filters) {
        filteredByName.set(name, { name, filters, defaults: defaultNames(endpoint.models) });
      }
      continue;
    }
    const apiKey = resolveConfigSecret(endpoint.apiKey);
    const baseURL = extractEnvVariable(endpoint.baseURL);
    const metaFilters = readMetaFilters(endpoint.models);
    const metadata = endpoint.models.metadata === 'litellm' ? 'litellm' : undefined;
    const policy = isUserProvided(baseURL)
      ? JSON.stringify([allowedAddresses ?? null, process.env.DYNAMIC_MODELS_ALLOWED_HOSTS ?? ''])
      : '';
    byName.set(name, {
      name,
      config: endpoint,
      userProvidesKey: isUserProvided(apiKey),
      userProvidesURL: isUserProvided(baseURL),
      apiKey,
      baseURL,
      defaults: defaultNames(endpoint.models),
      allowedAddresses,
      filters,
      metaFilters,
      labels: readLabels(endpoint.models),
      groupBy: endpoint.models.groupBy === 'prefix' ? 'prefix' : undefined,
      metadata,
      configDigest: sha256(
        `${baseURL}\n${apiKey}\n${policy}\n${JSON.stringify(filters ?? null)}\n${JSON.stringify(
          [metaFilters ?? null, metadata ?? null],
        )}`,
      ).slice(0, 16),
    });
  }
  return { dynamic: [...byName.values()], filtered: [...filteredByName.values()] };
}

/**
 * The dynamic custom endpoints of an app config.
 * @param {AppConfig | undefined} appConfig
 * @returns {DynamicEndpoint[]}
 */
const getDynamicEndpoints = (appConfig) => getCustomEndpoints(appConfig).dynamic;

/**
 * @param {ServerRequest} req
 * @returns {Promise<{ dynamic: DynamicEndpoint[], filtered: FilteredEndpoint[] }>}
 */
async function getCustomEndpointsForRequest(req) {
  return getCustomEndpoints(await loadAppConfig({ user: req.user, appConfig: req.config }));
}

/**
 * Whether `validateModel` lets a request's model through unchecked, as LibreChat does from
 * v0.8.5 when the endpoint's users provide the key: never for a dynamic endpoint, whose models
 * are the user's own filtered list in `getModelsConfig`, nor when the app config cannot be read.
 * @param {ServerRequest} req
 * @param {Partial<TConfig> | undefined} endpointConfig - `getEndpointsConfig(req)[endpoint]`
 * @param {string} endpoint
 * @returns {Promise<boolean>}
 */
async function skipsModelValidation(req, endpointConfig, endpoint) {
  if (!endpointConfig?.userProvide) {
    return false;
  }
  try {
    const { dynamic } = await getCustomEndpointsForRequest(req);
    return !dynamic.some(({ name }) => name === endpoint);
  } catch {
    return false;
  }
}

/**
 * The agents path of releases that check no agent's model (v0.7): the model an agent sends to a
 * dynamic or filtered custom endpoint must be in the requesting user's own list
 * (`getModelsConfig`), as `validateModel` requires on the custom endpoint routes. Logs the same
 * violation and throws LibreChat's ILLEGAL_MODEL_REQUEST error (the chat's answer); other
 * endpoints keep LibreChat's behaviour. Fails closed when the app config cannot be read.
 * @param {ServerRequest} req
 * @param {ServerResponse} res
 * @param {{ endpoint?: string, model?: string, model_parameters?: { model?: string } }} agent -
 *   the initialized agent: `endpoint` names its endpoint, `model_parameters.model` is sent.
 */
async function refuseUnlistedAgentModel(req, res, agent) {
  const endpoint = agent?.endpoint;
  const model = agent?.model_parameters?.model ?? agent?.model;
  let checked = true;
  try {
    const { dynamic, filtered } = await getCustomEndpointsForRequest(req);
    checked = [...dynamic, ...filtered].some(({ name }) => name === endpoint);
  } catch {
    /* checked */
  }
  if (!checked) {
    return;
  }
  const { getModelsConfig } = require('~/server/controllers/ModelController');
  const listed = (await getModelsConfig(req))?.[endpoint];
  if (Array.isArray(listed) && listed.includes(model)) {
    return;
  }
  const type = ViolationTypes.ILLEGAL_MODEL_REQUEST;
  const { ILLEGAL_MODEL_REQ_SCORE: score = 5 } = process.env;
  await require('~/cache').logViolation(req, res, type, { type }, score);
  throw new Error(`{ "type": "${type}", "info": "${endpoint}|${model}" }`);
}

/**
 * Reads the user's saved key values for an endpoint and resolves the key and base URL as the
 * custom endpoint initialization does. Never logs: LibreChat's `getUserKeyValues` logs the JSON
 * parse error, whose message quotes the decrypted value.
 * @param {string} userId
 * @param {DynamicEndpoint} endpoint
 * @returns {Promise<{ apiKey: string, baseURL: string, keyExpiresAt: number | null } | null>}
 *   null when no usable, unexpired key is saved.
 */
async function readUserCredentials(userId, endpoint) {
  const { expiresAt } = (await getUserKeyExpiry({ userId, name: endpoint.name })) ?? {};
  if (!expiresAt) {
    return null;
  }
  let keyExpiresAt = null;
  if (expiresAt !== 'never') {
    keyExpiresAt = new Date(expiresAt).getTime();
    if (!Number.isFinite(keyExpiresAt) || keyExpiresAt <= Date.now()) {
      return null;
    }
  }

  let values = null;
  try {
    values = JSON.parse(await getUserKey({ userId, name: endpoint.name }));
  } catch {
    return null;
  }
  if (!values || typeof values !== 'object') {
    return null;
  }
  /** A user-provided base URL is only ever sent the user's own key, never the admin's */
  const apiKey =
    endpoint.userProvidesKey || endpoint.userProvidesURL ? values.apiKey : endpoint.apiKey;
  const baseURL = endpoint.userProvidesURL ? values.baseURL : endpoint.baseURL;
  if (typeof apiKey !== 'string' || !apiKey || typeof baseURL !== 'string' || !baseURL) {
    return null;
  }
  return { apiKey, baseURL, keyExpiresAt };
}

/**
 * @param {DynamicEndpoint} endpoint
 * @param {UserModelsEntry | null} entry
 * @returns {UserModelsState}
 */
function toState(endpoint, entry) {
  const state = stateOf(endpoint, entry);
  return endpoint.groupBy ? { ...state, groupBy: endpoint.groupBy } : state;
}

/**
 * The metadata of a user's list with the admin's `models.labels` over the provider's names
 * (the cached map itself when there are no labels).
 * @param {DynamicEndpoint} endpoint
 * @param {UserModelsEntry} entry
 */
function labelledMeta(endpoint, entry) {
  if (!endpoint.labels) {
    return entry.meta;
  }
  const listed = new Set(entry.models);
  const meta = Object.assign(Object.create(null), entry.meta);
  for (const [id, label] of Object.entries(endpoint.labels)) {
    if (listed.has(id)) {
      meta[id] = { ...meta[id], label };
    }
  }
  return meta;
}

/** @see toState */
function stateOf(endpoint, entry) {
  if (!entry) {
    return { models: endpoint.defaults, source: 'default', fetchedAt: null };
  }
  if (!Array.isArray(entry.models)) {
    return {
      models: endpoint.defaults,
      source: 'default',
      fetchedAt: entry.fetchedAt ?? null,
      error: entry.error,
    };
  }
  if (entry.models.length === 0) {
    /** The key reaches models, but `models.include` / `models.exclude` keep none of them */
    return {
      models: endpoint.defaults,
      source: 'default',
      fetchedAt: entry.fetchedAt,
      error: 'filtered_out',
    };
  }
  const state = { models: entry.models, source: 'user', fetchedAt: entry.fetchedAt };
  const meta = labelledMeta(endpoint, entry);
  if (meta && Object.keys(meta).length > 0) {
    state.meta = meta;
  }
  return entry.error ? { ...state, error: entry.error } : state;
}

/**
 * Whether a cached entry is due a refetch: a list after the 5-minute max-age, a failed refetch
 * (which kept the previous list) 60 s after it failed. A failed fetch without a list is not; it
 * expires after 60 s.
 * @param {UserModelsEntry} entry
 * @param {number} now
 */
function isStale(entry, now) {
  if (entry.failedAt) {
    return now - entry.failedAt >= FAILURE_TTL_MS;
  }
  return Array.isArray(entry.models) && now - entry.fetchedAt >= REFRESH_AFTER_MS;
}

/**
 * The metadata of the listed models only (in a map without prototype), or undefined when none.
 * @param {string[]} models
 * @param {Record<string, TDynamicModelMeta> | undefined} meta
 */
function metaOfListed(models, meta) {
  if (!meta) {
    return undefined;
  }
  const out = Object.create(null);
  let any = false;
  for (const model of models) {
    if (Object.prototype.hasOwnProperty.call(meta, model)) {
      out[model] = meta[model];
      any = true;
    }
  }
  return any ? out : undefined;
}

/**
 * The entry a fetch stores: the list filtered by `models.include` / `models.exclude`, then by
 * `models.filters` (a model a filter cannot judge is kept, marked `unchecked`), with what the
 * provider says of each listed model; on failure the previous list of the same key
 * (kept until it would have expired, with the error) or else the error alone (kept 60 s).
 * @returns {{ entry: UserModelsEntry, ttl: number }}
 */
function entryFromResult(endpoint, result, previous) {
  const now = Date.now();
  if (result.models) {
    let models = applyModelFilters(result.models, endpoint.filters);
    let meta = result.meta;
    if (endpoint.metaFilters) {
      ({ models, meta } = filterModelsByMeta(models, meta, endpoint.metaFilters));
    }
    meta = metaOfListed(models, meta);
    const entry = meta ? { models, meta, fetchedAt: now } : { models, fetchedAt: now };
    return { entry, ttl: getTTLms() };
  }
  if (Array.isArray(previous?.models)) {
    const entry = { ...previous, error: result.error, failedAt: now };
    return { entry, ttl: Math.max(previous.fetchedAt + getTTLms() - now, FAILURE_TTL_MS) };
  }
  return { entry: { models: null, fetchedAt: now, error: result.error }, ttl: FAILURE_TTL_MS };
}

const indexKeyOf = (userId, name) => `${userId}:${name}`;

/**
 * The key of a list's metadata: stored apart from the list (same TTL), so the models config, which
 * reads the list on every request, never de-serialises it; only the fetch answer reads it.
 */
const metaKeyOf = (entryKey) => `${entryKey}:meta`;

/**
 * Stores an entry: its metadata under its own key, the list (marked `hasMeta`) under `entryKey`.
 * A failed refetch keeps the previous list's metadata; any other entry without metadata drops it.
 */
async function storeEntry(entryKey, entry, ttl) {
  const cache = getCache();
  const { meta, ...list } = entry;
  if (meta) {
    await cache.set(metaKeyOf(entryKey), meta, ttl);
  } else if (!list.hasMeta) {
    await cache.delete(metaKeyOf(entryKey));
  }
  await cache.set(entryKey, meta ? { ...list, hasMeta: true } : list, ttl);
}

/** Deletes an entry and its metadata. */
async function deleteEntry(entryKey) {
  const cache = getCache();
  await Promise.all([cache.delete(entryKey), cache.delete(metaKeyOf(entryKey))]);
}

/**
 * The entry with its metadata read from the cache when `wanted` and stored apart.
 * @param {string} entryKey
 * @param {UserModelsEntry} entry
 * @param {boolean} wanted
 */
async function withStoredMeta(entryKey, entry, wanted) {
  if (!wanted || !entry?.hasMeta || entry.meta) {
    return entry;
  }
  const meta = await getCache().get(metaKeyOf(entryKey));
  return meta ? { ...entry, meta } : entry;
}

/**
 * The guard of a user's endpoint, taken before its key is read: this process's epoch and, with
 * Redis, the endpoint's generation there (random, set by each invalidation for twice the TTL;
 * null before the first, without Redis or when it fails). Each write of an index or list checks
 * it; the index keeps it and is served only while it is current, so a list fetched with a key
 * replaced or revoked through another instance is never served.
 */
async function readGuard(indexKey) {
  const generation = await getRedisClient()
    ?.get(`dynmodels:gen:${indexKey}`)
    .catch(() => logger.warn('[dynamicModels] key guard: Redis unavailable'));
  return { epoch: epochs.get(indexKey) ?? 0, generation: generation ?? null };
}

const isCurrent = async (indexKey, { epoch, generation }) => {
  const now = await readGuard(indexKey);
  return now.generation === generation && now.epoch === epoch;
};

async function writeIndex(indexKey, guard, value) {
  if (await isCurrent(indexKey, guard)) {
    await getCache().set(indexKey, { ...value, gen: guard.generation ?? undefined }, getTTLms());
  }
}

/**
 * Takes the cross-instance flight lock of an entry key.
 * @returns {Promise<(() => Promise<unknown>) | null>} its release, or null while another instance
 *   holds it. Without Redis, or when Redis fails, a release that does nothing.
 */
async function takeFlightLock(entryKey) {
  const redis = getRedisClient();
  const lockKey = `dynmodels:flight:${entryKey}`;
  const token = crypto.randomBytes(16).toString('hex');
  try {
    if (redis && (await redis.set(lockKey, token, 'PX', FLIGHT_LOCK_MS, 'NX')) !== 'OK') {
      return null;
    }
  } catch {
    logger.warn(
      '[dynamicModels] flight lock: Redis unavailable, single flight in this process only',
    );
    return async () => undefined;
  }
  return async () => redis?.eval(RELEASE_LOCK_SCRIPT, 1, lockKey, token).catch(() => undefined);
}

/** When an entry was last written (fetched, or a refetch failed). */
const writtenAt = (entry) => Math.max(entry?.fetchedAt ?? 0, entry?.failedAt ?? 0);

/**
 * Waits for the flight lock of an entry key. While another instance fetches, polls the cache
 * for what it stores (newer than `previous`), which is then returned instead of the lock.
 * @returns {Promise<{ release?: () => Promise<unknown>, stored?: UserModelsEntry }>}
 */
async function awaitFlight(entryKey, previous, signal) {
  for (;;) {
    const release = await takeFlightLock(entryKey);
    const stored = await getCache().get(entryKey);
    if (stored && (!previous || writtenAt(stored) > writtenAt(previous))) {
      await release?.();
      return { stored };
    }
    if (release || signal.aborted) {
      return { release: release ?? undefined };
    }
    await new Promise((resolve) => setTimeout(resolve, FLIGHT_POLL_MS));
  }
}

/**
 * Fetches upstream once per entry key at a time, in this process and across instances on one
 * Redis, and stores the outcome, unless the user's key changed meanwhile (the invalidation aborts
 * the fetch; nothing is written for a replaced key). A failed refetch keeps `previous`, the list
 * cached for the same key.
 * @returns {Promise<UserModelsEntry>}
 */
function fetchAndStore({ req, endpoint, credentials, entryKey, indexKey, guard, previous }) {
  const inFlight = pending.get(entryKey);
  if (inFlight) {
    return inFlight.promise;
  }
  const controller = new AbortController();
  const current = async () => !controller.signal.aborted && (await isCurrent(indexKey, guard));
  const promise = (async () => {
    const { release, stored } = await awaitFlight(entryKey, previous, controller.signal);
    if (stored) {
      return stored;
    }
    try {
      return await fetchWithinFlight(
        { req, endpoint, credentials, entryKey, previous },
        controller,
        current,
      );
    } finally {
      await release?.();
    }
  })().finally(() => {
    if (pending.get(entryKey)?.controller === controller) {
      pending.delete(entryKey);
    }
  });
  pending.set(entryKey, { promise, controller });
  return promise;
}

/** The upstream fetch of `fetchAndStore`, once it holds the flight. */
async function fetchWithinFlight(
  { req, endpoint, credentials, entryKey, previous },
  controller,
  current,
) {
  const { config } = endpoint;
  const baseURL = config.directEndpoint
    ? (extractBaseURL(credentials.baseURL) ?? credentials.baseURL)
    : credentials.baseURL;
  const result = await withFetchSlot(req.user.id, () =>
    controller.signal.aborted
      ? { error: 'canceled' }
      : fetchUserModelList({
          name: endpoint.name,
          baseURL,
          apiKey: credentials.apiKey,
          userProvidedURL: endpoint.userProvidesURL,
          allowedAddresses: endpoint.allowedAddresses,
          headers: endpoint.userProvidesURL
            ? undefined
            : resolveHeaders(config.headers ?? undefined, req.user),
          userIdQuery: config.models?.userIdQuery ? req.user.id : undefined,
          metadata: endpoint.metadata,
          signal: controller.signal,
        }),
  );
  const { entry, ttl } = entryFromResult(endpoint, result, previous);
  if (!(await current())) {
    return entry;
  }
  await storeEntry(entryKey, entry, ttl);
  if (result.tokenConfig) {
    await storeTokenConfig(req, endpoint, result.tokenConfig);
  }
  return entry;
}

/**
 * Stores the context and prices of a user's list where this release reads the user's token
 * configuration back (see `tokenConfigTarget` of the compat). Never throws.
 */
async function storeTokenConfig(req, endpoint, tokenConfig) {
  try {
    const target = tokenConfigTarget(req, endpoint);
    await target?.store.set(target.key, tokenConfig);
  } catch {
    logger.warn(`[dynamicModels] ${endpoint.name}: token config not stored`);
  }
}

/**
 * Aborts the pending fetches of a user's endpoint (its key was replaced or revoked).
 * @param {string} indexKey
 */
function abortPending(indexKey) {
  for (const [entryKey, { controller }] of pending) {
    if (entryKey.startsWith(`${indexKey}:`)) {
      controller.abort();
      pending.delete(entryKey);
    }
  }
}

/**
 * Refreshes a stale entry behind the request that found it: once per entry key at a time (the
 * fetch itself shares the single flight), reading the user's key only when `credentials` (read
 * under `guard`) are not known. An entry whose key is no longer the user's (replaced, revoked or
 * expired, say through another instance) is dropped: the next request reads the new key.
 * Never throws.
 */
function refreshBehind({ req, endpoint, entryKey, indexKey, credentials, guard, previous }) {
  if (refreshing.has(entryKey) || pending.has(entryKey)) {
    return;
  }
  refreshing.add(entryKey);
  const known = credentials ? { credentials, guard } : null;
  (async () => {
    const { credentials: current, guard: taken } = known ?? {
      guard: await readGuard(indexKey),
      credentials: await readUserCredentials(req.user.id, endpoint),
    };
    if (current && `${indexKey}:${credentialsDigest(endpoint, current)}` === entryKey) {
      const params = { req, endpoint, credentials: current, entryKey, indexKey, previous };
      return fetchAndStore({ ...params, guard: taken });
    }
    const cache = getCache(); // the user's key changed: drop the list, and the index naming it
    await deleteEntry(entryKey);
    if (`${indexKey}:${(await cache.get(indexKey))?.digest}` === entryKey) {
      await cache.delete(indexKey);
    }
  })()
    .catch(() => logger.warn(`[dynamicModels] ${endpoint.name}: internal_error`))
    .finally(() => refreshing.delete(entryKey));
}

const credentialsDigest = (endpoint, credentials) =>
  sha256(`${endpoint.configDigest}\n${credentials.baseURL}\n${credentials.apiKey}`);

/**
 * The model list of one dynamic endpoint for the requesting user.
 * - `cache`: serve the cached list while it lives (no database read on a hit), refreshing it
 *   behind the request once it is past the 5-minute max-age; fetch on a miss.
 * - `refresh`: re-read the user's key; refetch (and wait) when the list is past the max-age.
 * - `force`: re-read the user's key and refetch now.
 * A failed fetch is kept for 60 s in every mode but `force`; a failed refetch keeps the previous
 * list, with the error, and is retried after 60 s.
 * @param {ServerRequest} req
 * @param {DynamicEndpoint} endpoint
 * @param {'cache' | 'refresh' | 'force'} [mode]
 * @param {{ meta?: boolean }} [options] - `meta: false`: without the models' metadata (stored
 *   under its own key, not read then).
 * @returns {Promise<UserModelsState>}
 */
async function resolveEndpointModels(req, endpoint, mode = 'cache', { meta = true } = {}) {
  const userId = req.user.id;
  const cache = getCache();
  const indexKey = indexKeyOf(userId, endpoint.name);
  const now = Date.now();

  if (mode === 'cache') {
    const [index, { generation }] = await Promise.all([cache.get(indexKey), readGuard(indexKey)]);
    if (
      index &&
      index.cfg === endpoint.configDigest &&
      (index.gen ?? null) === generation &&
      !(index.keyExpiresAt && index.keyExpiresAt <= now)
    ) {
      if (!index.digest) {
        return toState(endpoint, null);
      }
      const entryKey = `${indexKey}:${index.digest}`;
      const entry = await cache.get(entryKey);
      if (entry) {
        if (isStale(entry, now)) {
          refreshBehind({ req, endpoint, entryKey, indexKey, previous: entry });
        }
        return toState(endpoint, await withStoredMeta(entryKey, entry, meta));
      }
    }
  }

  const guard = await readGuard(indexKey);
  const credentials = await readUserCredentials(userId, endpoint);
  if (!credentials) {
    await writeIndex(indexKey, guard, { digest: null, cfg: endpoint.configDigest });
    return toState(endpoint, null);
  }

  const digest = credentialsDigest(endpoint, credentials);
  await writeIndex(indexKey, guard, {
    digest,
    cfg: endpoint.configDigest,
    keyExpiresAt: credentials.keyExpiresAt,
  });

  const entryKey = `${indexKey}:${digest}`;
  const previous = await cache.get(entryKey);
  if (previous && mode !== 'force') {
    const stale = isStale(previous, now);
    if (mode === 'cache' && stale) {
      refreshBehind({ req, endpoint, entryKey, indexKey, credentials, guard, previous });
    }
    if (mode === 'cache' || !stale) {
      return toState(endpoint, await withStoredMeta(entryKey, previous, meta));
    }
  }

  const entry = await fetchAndStore({
    req,
    endpoint,
    credentials,
    entryKey,
    indexKey,
    guard,
    previous,
  });
  return toState(endpoint, await withStoredMeta(entryKey, entry, meta));
}

/**
 * Resolves one endpoint; any unexpected failure (cache, database) falls back to the defaults.
 * @returns {Promise<UserModelsState>}
 */
async function safeResolve(req, endpoint, mode, options) {
  if (filtersUnavailable(endpoint.filters, endpoint.metaFilters)) {
    return { ...toState(endpoint, null), error: 'filters_unavailable' };
  }
  try {
    return await resolveEndpointModels(req, endpoint, mode, options);
  } catch {
    logger.warn(`[dynamicModels] ${endpoint.name}: internal_error`);
    return toState(endpoint, null);
  }
}

/**
 * Returns a new models config in which the dynamic endpoints list the requesting user's own
 * models. The shared `modelsConfig` is never mutated; it is returned as is when there is
 * nothing to overlay.
 * @param {ServerRequest} req
 * @param {TModelsConfig} modelsConfig
 * @param {{ modes?: Record<string, 'cache' | 'refresh' | 'force'>, endpoints?: DynamicEndpoint[] }} [options]
 * @returns {Promise<TModelsConfig>}
 */
async function overlayUserModels(req, modelsConfig, options = {}) {
  return (await overlayUserModelsWithState(req, modelsConfig, { ...options, meta: false })).models;
}

/**
 * Also narrows the shared lists of `filtered` endpoints by their `models.include` /
 * `models.exclude`, so model validation refuses what the filters drop.
 * @param {ServerRequest} req
 * @param {TModelsConfig} modelsConfig
 * @param {{ modes?: Record<string, 'cache' | 'refresh' | 'force'>, endpoints?: DynamicEndpoint[],
 *   filtered?: FilteredEndpoint[], keyChanges?: boolean, meta?: boolean }} [options] - `endpoints`
 *   and `filtered` as `getCustomEndpoints` returns them (read from the request's config when
 *   `endpoints` is omitted); `keyChanges`: add each endpoint's `keyChangedAt` (one more cache read
 *   per endpoint); `meta: false` leaves out the models' metadata (`dynamic[endpoint].meta`).
 * @returns {Promise<{ models: TModelsConfig, dynamic: Record<string, Omit<UserModelsState, 'models'>> }>}
 */
async function overlayUserModelsWithState(req, modelsConfig, options = {}) {
  if (!req?.user?.id || !modelsConfig) {
    return { models: modelsConfig, dynamic: {} };
  }
  let { endpoints, filtered = [] } = options;
  if (!endpoints) {
    try {
      ({ dynamic: endpoints, filtered } = await getCustomEndpointsForRequest(req));
    } catch {
      logger.warn('[dynamicModels] app config unavailable');
      return { models: modelsConfig, dynamic: {} };
    }
  }
  if (endpoints.length === 0 && filtered.length === 0) {
    return { models: modelsConfig, dynamic: {} };
  }

  const modes = options.modes ?? {};
  const states = await Promise.all(
    endpoints.map((endpoint) =>
      safeResolve(req, endpoint, modes[endpoint.name] ?? 'cache', { meta: options.meta !== false }),
    ),
  );
  const models = { ...modelsConfig };
  for (const endpoint of filtered) {
    if (Array.isArray(models[endpoint.name])) {
      models[endpoint.name] = filterSharedList(models[endpoint.name], endpoint);
    }
  }
  const changes = options.keyChanges
    ? await Promise.all(endpoints.map((endpoint) => readKeyChangedAt(req.user.id, endpoint.name)))
    : [];
  const dynamic = {};
  endpoints.forEach((endpoint, i) => {
    const { models: list, ...state } = states[i];
    models[endpoint.name] = [...list];
    dynamic[endpoint.name] = changes[i] ? { ...state, keyChangedAt: changes[i] } : state;
  });
  return { models, dynamic };
}

const keyChangedKeyOf = (indexKey) => `${indexKey}:keyChangedAt`;

/**
 * When the user last saved or revoked their key of an endpoint, as recorded by
 * `invalidateUserModels` (kept for twice the list TTL). Never throws.
 * @returns {Promise<number | null>} epoch milliseconds, null when not recorded.
 */
async function readKeyChangedAt(userId, name) {
  try {
    const at = await getCache().get(keyChangedKeyOf(indexKeyOf(userId, name)));
    return Number.isFinite(at) ? at : null;
  } catch {
    return null;
  }
}

/** Type of `validateModel`'s refusal of a dynamic endpoint's model (see `describeModelRefusal`) */
const MODEL_NOT_LISTED = 'model_not_listed';

/**
 * Why the requesting user's list of a dynamic endpoint lacks `model`, as the machine-readable
 * refusal `validateModel` answers instead of its bare "Illegal model request":
 * `{ type: 'model_not_listed', message, model, endpoint, reason, info, keyChangedAt?, error? }`, where
 * `reason` is `no_key` (no usable key: the configured defaults are listed), `key_changed` (the
 * key was saved or revoked within twice the list TTL, so the model may be the former key's) or
 * `not_listed` (the provider does not list it for this key); `error` is the category of a
 * failed fetch (defaults shown) and `info` is `endpoint|model` as LibreChat's own
 * illegal-model error carries it. Reads the cached list (no fetch on a hit). Never throws.
 * @param {ServerRequest} req
 * @param {string} endpoint - The request's endpoint (its key in the models config).
 * @param {string} model
 * @returns {Promise<object | null>} null when the endpoint is not dynamic or the config fails.
 */
async function describeModelRefusal(req, endpoint, model) {
  try {
    if (!req?.user?.id) {
      return null;
    }
    const { dynamic } = await getCustomEndpointsForRequest(req);
    const target = dynamic.find(({ name }) => name === endpoint);
    if (!target) {
      return null;
    }
    const [state, keyChangedAt] = await Promise.all([
      safeResolve(req, target, 'cache'),
      readKeyChangedAt(req.user.id, target.name),
    ]);
    let reason = 'not_listed';
    if (state.source === 'default' && !state.error) {
      reason = 'no_key';
    } else if (keyChangedAt) {
      reason = 'key_changed';
    }
    const refusal = {
      type: MODEL_NOT_LISTED,
      message: 'Illegal model request',
      model,
      endpoint,
      reason,
      info: `${endpoint}|${model}`,
    };
    if (keyChangedAt) {
      refusal.keyChangedAt = keyChangedAt;
    }
    if (state.error) {
      refusal.error = state.error;
    }
    return refusal;
  } catch {
    return null;
  }
}

/**
 * The agents path's refusal of an agent's model that its dynamic endpoint's list lacks, with
 * the same machine-readable reason as `validateModel`'s (`describeModelRefusal`) and the agent's
 * id and name: what the agents initialization throws instead of LibreChat's bare
 * `{ type: 'illegal_model_request', info }` (the violation is already logged by then).
 * @param {ServerRequest} req
 * @param {{ id?: string, name?: string, provider?: string, model?: string } | undefined} agent
 * @param {string | undefined} message - LibreChat's refusal (`validateAgentModel`'s error).
 * @returns {Promise<string | null>} the JSON text, or null when LibreChat's refusal is not an
 *   illegal model request or the agent's endpoint is not dynamic.
 */
async function describeAgentModelRefusal(req, agent, message) {
  if (typeof message !== 'string' || !message.includes(ViolationTypes.ILLEGAL_MODEL_REQUEST)) {
    return null;
  }
  /** What LibreChat's `validateAgentModel` checked */
  const endpoint = agent?.provider;
  const model = agent?.model;
  if (typeof endpoint !== 'string' || typeof model !== 'string') {
    return null;
  }
  const refusal = await describeModelRefusal(req, endpoint, model);
  if (!refusal) {
    return null;
  }
  if (typeof agent.id === 'string') {
    refusal.agent_id = agent.id;
  }
  if (typeof agent.name === 'string' && agent.name) {
    refusal.agent = agent.name;
  }
  return JSON.stringify(refusal);
}

/**
 * Drops a user's cached lists for one endpoint, or for every dynamic endpoint when `name` is
 * omitted (then from `appConfig`, or the config of `user`, else of the user's role and tenant).
 * Never throws.
 * @param {{ userId: string, user?: object, role?: string, tenantId?: string, name?: string,
 *   appConfig?: AppConfig }} params
 */
async function invalidateUserModels({ userId, user, role, tenantId, name, appConfig }) {
  if (!userId) {
    return;
  }
  try {
    let names;
    if (typeof name === 'string' && name) {
      names = [normalizeEndpointName(name)];
    } else {
      const config = await loadAppConfig({
        user: user ?? { id: userId, role, tenantId },
        appConfig,
      });
      names = getDynamicEndpoints(config).map((endpoint) => endpoint.name);
    }
    const cache = getCache();
    for (const endpointName of names) {
      const indexKey = indexKeyOf(userId, endpointName);
      epochs.set(indexKey, (epochs.get(indexKey) ?? 0) + 1);
      const generation = crypto.randomBytes(8).toString('hex'); // see readGuard
      await getRedisClient()
        ?.set(`dynmodels:gen:${indexKey}`, generation, 'PX', 2 * getTTLms())
        .catch(() => logger.warn('[dynamicModels] key guard: Redis unavailable'));
      abortPending(indexKey);
      await cache.set(keyChangedKeyOf(indexKey), Date.now(), 2 * getTTLms());
      const index = await cache.get(indexKey);
      await cache.delete(indexKey);
      if (index?.digest) {
        await deleteEntry(`${indexKey}:${index.digest}`);
      }
    }
  } catch {
    logger.warn('[dynamicModels] invalidation failed');
  }
}

/**
 * Takes the forced-fetch slot of one user and endpoint if it is free, atomically: in this process
 * by a synchronous check-and-set, across instances by Redis `SET NX PX` where the release runs
 * with Redis.
 * @param {string} key - `${userId}:${name}`
 * @param {number} now
 * @returns {Promise<number>} 0 when taken, else milliseconds until it is free.
 */
async function claimForceSlot(key, now) {
  const until = forceSlots.get(key) ?? 0;
  if (until > now) {
    return until - now;
  }
  forceSlots.set(key, now + FORCE_WINDOW_MS);
  if (forceSlots.size > 10000) {
    for (const [slot, end] of forceSlots) {
      if (end <= now) {
        forceSlots.delete(slot);
      }
    }
  }
  const redis = getRedisClient();
  if (!redis) {
    return 0;
  }
  try {
    const redisKey = `dynmodels:force:${key}`;
    if ((await redis.set(redisKey, String(now), 'PX', FORCE_WINDOW_MS, 'NX')) === 'OK') {
      return 0;
    }
    const left = await redis.pttl(redisKey);
    return left > 0 ? left : FORCE_WINDOW_MS;
  } catch {
    logger.warn('[dynamicModels] force slot: Redis unavailable, limited in this process only');
    return 0;
  }
}

/**
 * Takes the forced-fetch slots of the named endpoints: all or none.
 * @param {string} userId
 * @param {string[]} names
 * @returns {Promise<number>} 0 when allowed (and taken), else seconds to wait.
 */
async function takeForceSlot(userId, names) {
  const now = Date.now();
  const taken = [];
  let waitMs = 0;
  for (const name of names) {
    const key = `${userId}:${name}`;
    const wait = await claimForceSlot(key, now);
    if (wait > 0) {
      waitMs = Math.max(waitMs, wait);
    } else {
      taken.push(key);
    }
  }
  if (waitMs === 0) {
    return 0;
  }
  const redis = getRedisClient();
  for (const key of taken) {
    forceSlots.delete(key);
    await redis?.del(`dynmodels:force:${key}`).catch(() => undefined);
  }
  return Math.ceil(waitMs / 1000);
}

/** Test helper: forget in-process state. */
function _resetUserModelsState() {
  pending.clear();
  refreshing.clear();
  epochs.clear();
  forceSlots.clear();
  userFetches.clear();
}

module.exports = {
  FAILURE_TTL_MS,
  REFRESH_AFTER_MS,
  FORCE_WINDOW_MS,
  isDynamicEndpoint,
  getCustomEndpoints,
  getDynamicEndpoints,
  getCustomEndpointsForRequest,
  skipsModelValidation,
  refuseUnlistedAgentModel,
  MODEL_NOT_LISTED,
  describeModelRefusal,
  describeAgentModelRefusal,
  resolveEndpointModels,
  overlayUserModels,
  overlayUserModelsWithState,
  invalidateUserModels,
  takeForceSlot,
  _resetUserModelsState,
};
