const { extractEnvVariable } = require('librechat-data-provider');
const { fetchModels, createLoadConfigModels } = require('@librechat/api');
const { logger, isUserProvided, normalizeEndpointName } = require('./userModelsCompat');
const { checkUserBaseURL, FetchErrors } = require('./userModelsFetch');
const { getAppConfig } = require('./app');

/**
 * Wraps LibreChat's `fetchModels` so that it never rejects: the native loader logs a rejected
 * fetch as `Model fetch failed for "${BASE_URL}__${API_KEY}__..."`, which puts the admin's
 * resolved API key into a warning. This logs the endpoint name only and answers `[]` (the loader
 * then uses the configured defaults, as it does for a rejection).
 * @param {typeof fetchModels} fetch
 * @returns {typeof fetchModels}
 */
function withoutKeyInLogs(fetch) {
  return async function fetchModelsLoggingNoKey(params) {
    try {
      return await fetch(params);
    } catch {
      logger.warn(`[loadConfigModels] Model fetch failed for "${params?.name ?? 'unknown'}"`);
      return [];
    }
  };
}

/**
 * `getUserKeyValues` for the shared loader: no user key is ever read there, so custom endpoints
 * whose key or URL the user provides get their configured `models.default`. The requesting
 * user's own lists are overlaid per request from the per-user cache
 * (`~/server/services/Config/userModels`), instead of being refetched on every request.
 * @returns {Promise<null>}
 */
async function noUserKeyValues() {
  return null;
}

/**
 * LibreChat's native custom-endpoint models loader (`createLoadConfigModels`) without per-user
 * fetches and without the admin key in its warning log line.
 * @type {(req: ServerRequest) => Promise<TModelsConfig>}
 */
const loadSharedConfigModels = createLoadConfigModels({
  getAppConfig,
  getUserKeyValues: noUserKeyValues,
  fetchModels: withoutKeyInLogs((params) => fetchModels(params)),
});

/**
 * v0.8.5's and v0.8.6's native loaders fetch a user-provided base URL without validating it,
 * send the endpoint's configured headers (identity-token templates included) there, and send the
 * admin's key when only the URL is user-provided. v0.8.7 closed these holes. This wraps the
 * `fetchModels` the native loader is given with the rules of this feature's own fetch: a
 * user-provided base URL must pass `checkUserBaseURL` (public addresses only, unless allowed by
 * DYNAMIC_MODELS_ALLOWED_HOSTS or `endpoints.allowedAddresses`), configured headers are never
 * sent to it, and it is never sent the admin key. A refusal rejects (the loader then uses the
 * defaults).
 * @param {typeof fetchModels} fetch
 * @param {() => AppConfig | undefined} getConfig - The app config of the current request.
 * @returns {typeof fetchModels}
 */
function withUserURLRules(fetch, getConfig) {
  return async function fetchModelsWithUserURLRules(params) {
    const config = getConfig();
    const custom = Array.isArray(config?.endpoints?.custom) ? config.endpoints.custom : [];
    const endpoint = custom.find(
      (entry) => entry?.name && normalizeEndpointName(entry.name) === params?.name,
    );
    if (!endpoint || !isUserProvided(extractEnvVariable(endpoint.baseURL ?? ''))) {
      return fetch(params);
    }
    if (!isUserProvided(extractEnvVariable(endpoint.apiKey ?? ''))) {
      throw new Error('user-provided base URL without a user key');
    }
    const check = await checkUserBaseURL(params.baseURL, {
      allowedAddresses: config?.endpoints?.allowedAddresses,
    });
    if (!check.ok && check.error !== FetchErrors.UNREACHABLE) {
      throw new Error(`user-provided base URL refused: ${check.error}`);
    }
    /** A host that does not resolve is left to the fetch, which fails on it as the stock loader does */
    return fetch({ ...params, headers: undefined });
  };
}

/**
 * LibreChat's native loader with its per-user fetches (kept for other callers), with the rules
 * above for user-provided base URLs and without the admin key in its warning log line.
 * @param {(params: FetchModelsParams) => Promise<string[]>} fetch
 * @param {typeof getAppConfig} readAppConfig
 * @param {Function} getUserKeyValues
 * @returns {(req: ServerRequest) => Promise<TModelsConfig>}
 */
function createGuardedLoadConfigModels(fetch, readAppConfig, getUserKeyValues) {
  return async function loadConfigModels(req) {
    let appConfig = req?.config;
    const loader = createLoadConfigModels({
      getAppConfig: async (options) => (appConfig = await readAppConfig(options)),
      getUserKeyValues,
      fetchModels: withoutKeyInLogs(withUserURLRules(fetch, () => appConfig)),
    });
    return loader(req);
  };
}

module.exports = {
  loadSharedConfigModels,
  withoutKeyInLogs,
  noUserKeyValues,
  withUserURLRules,
  createGuardedLoadConfigModels,
};
