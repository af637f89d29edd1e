/**
 * What the per-user models feature needs from LibreChat v0.8.0 to v0.8.4 (before native per-user
 * fetching), in one place: the shared modules reach the release only through this adapter.
 * The app config comes from `getAppConfig({ role })`, the per-user lists live in the
 * `USER_MODELS` store of `getLogStores`; user keys moved from `UserService` to `~/models` in
 * v0.8.2, `extractBaseURL` to `@librechat/api` in v0.8.2.
 */
const { logger } = require('@librechat/data-schemas');
const api = require('@librechat/api');
const dataProvider = require('librechat-data-provider');
const getLogStores = require('~/cache/getLogStores');
const { getAppConfig } = require('./app');

/** `getUserKey` and `getUserKeyExpiry` of this release (loaded on use, as the models need the config). */
function userKeys() {
  const models = require('~/models');
  return typeof models.getUserKey === 'function'
    ? models
    : require('~/server/services/UserService');
}

/**
 * @param {string} url
 * @returns {string | undefined}
 */
function extractBaseURL(url) {
  if (typeof api.extractBaseURL === 'function') {
    return api.extractBaseURL(url);
  }
  const utils = require('~/utils');
  const extract = utils.extractBaseURL ?? require('~/utils/extractBaseURL');
  return extract(url);
}

/** The release's ioredis client when it runs with Redis (`USE_REDIS`), else null. */
function getRedisClient() {
  if (api.ioredisClient !== undefined) {
    return api.ioredisClient ?? null;
  }
  try {
    return require('~/cache/redisClients').ioredisClient ?? null;
  } catch {
    return null;
  }
}

module.exports = {
  logger,
  isUserProvided: api.isUserProvided,
  normalizeEndpointName: dataProvider.normalizeEndpointName ?? api.normalizeEndpointName,
  extractBaseURL,
  resolveConfigSecret: (value) => dataProvider.extractEnvVariable(value ?? ''),
  resolveHeaders: (headers, user) => api.resolveHeaders({ headers, user }) ?? {},
  loadAppConfig: ({ user }) => getAppConfig({ role: user?.role }),
  getUserKey: (params) => userKeys().getUserKey(params),
  getUserKeyExpiry: (params) => userKeys().getUserKeyExpiry(params),
  getUserModelsCache: () => getLogStores('USER_MODELS'),
  /**
   * `initializeCustom` reads a user's token configuration under `${name}:${userId}` in the
   * TOKEN_CONFIG store for endpoints without a configured `tokenConfig` whose name LibreChat
   * fetches pricing for (OpenRouter). v0.8.2+ reads a `standardCache` of its own there, which
   * holds what others wrote only with Redis (in memory each one is empty: LibreChat's own gap).
   */
  tokenConfigTarget: (req, endpoint) =>
    endpoint.config?.tokenConfig != null
      ? null
      : {
          store:
            typeof api.standardCache === 'function'
              ? api.standardCache(dataProvider.CacheKeys.TOKEN_CONFIG)
              : getLogStores(dataProvider.CacheKeys.TOKEN_CONFIG),
          key: `${endpoint.name}:${req.user.id}`,
        },
  keepsConfiguredAuthorization: false,
  getRedisClient,
  /** No proxy helper of its own: PROXY is applied to https URLs, as its `fetchModels` does */
  proxyHelpers: null,
};
