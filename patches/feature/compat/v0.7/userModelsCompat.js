/**
 * What the per-user models feature needs from LibreChat v0.7.5 to v0.7.9, in one place: the
 * shared modules (`userModels`, `userModelsFetch`, `UserModelsController`) reach the release only
 * through this adapter. v0.7.x reads `librechat.yaml` with `getCustomConfig` (the same for every
 * user), logs through `~/config`, keeps user keys in `UserService`.
 */
const { extractEnvVariable, CacheKeys } = require('librechat-data-provider');
const utils = require('~/server/utils');
const { extractBaseURL } = require('~/utils');
const { logger } = require('~/config');
const customConfigModule = require('./getCustomConfig');
const { getUserModelsCache, optionalRequire } = require('./userModelsCache');

/**
 * Names a custom endpoint as this release's `loadConfigModels` does: v0.7.6+ applies
 * `normalizeEndpointName` (e.g. `Ollama` -> `ollama`), v0.7.5 keeps the configured name.
 * @param {string} [name]
 * @returns {string}
 */
function normalizeEndpointName(name = '') {
  return typeof utils.normalizeEndpointName === 'function'
    ? utils.normalizeEndpointName(name)
    : name;
}

/**
 * The custom config (librechat.yaml); `getCustomConfig` is the module itself in v0.7.5 and a
 * named export from v0.7.6.
 * @returns {Promise<TCustomConfig | null>}
 */
async function loadAppConfig() {
  const load =
    typeof customConfigModule === 'function'
      ? customConfigModule
      : customConfigModule.getCustomConfig;
  return load();
}

/**
 * Resolves the configured headers of an endpoint as the custom endpoint initialization does:
 * `resolveHeaders(headers, user)` of `@librechat/api` where this release has it, else
 * environment variables only.
 * @param {Record<string, string> | undefined} headers
 * @param {object} user
 * @returns {Record<string, string>}
 */
function resolveHeaders(headers, user) {
  if (!headers || typeof headers !== 'object' || Array.isArray(headers)) {
    return {};
  }
  let resolve = null;
  try {
    resolve = require('@librechat/api').resolveHeaders;
  } catch {
    resolve = null;
  }
  if (typeof resolve === 'function') {
    return resolve(headers, user) ?? {};
  }
  const resolved = {};
  for (const key of Object.keys(headers)) {
    resolved[key] = extractEnvVariable(headers[key]);
  }
  return resolved;
}

/** `UserService` is loaded on use: it requires the models, which require the config. */
const userService = () => require('~/server/services/UserService');

module.exports = {
  logger,
  isUserProvided: utils.isUserProvided,
  normalizeEndpointName,
  extractBaseURL,
  resolveConfigSecret: (value) => extractEnvVariable(value ?? ''),
  resolveHeaders,
  loadAppConfig,
  getUserKey: (params) => userService().getUserKey(params),
  getUserKeyExpiry: (params) => userService().getUserKeyExpiry(params),
  getUserModelsCache,
  /**
   * `initializeCustom` reads a user's token configuration under `${name}:${userId}` in the
   * TOKEN_CONFIG store for endpoints without a configured `tokenConfig` whose name LibreChat
   * fetches pricing for (OpenRouter).
   */
  tokenConfigTarget: (req, endpoint) =>
    endpoint.config?.tokenConfig != null
      ? null
      : {
          store: require('~/cache/getLogStores')(CacheKeys.TOKEN_CONFIG),
          key: `${endpoint.name}:${req.user.id}`,
        },
  keepsConfiguredAuthorization: false,
  /**
   * The release's ioredis client when it runs with Redis (`USE_REDIS`), else null: v0.7.9's
   * `redisClients`, v0.7.8's `ioredisClient`, before that the client of the `@keyv/redis` store.
   */
  getRedisClient: () =>
    optionalRequire('cache/redisClients')?.ioredisClient ??
    optionalRequire('cache/ioredisClient') ??
    optionalRequire('cache/keyvRedis')?.redis ??
    null,
  /** No proxy helper of its own: PROXY is applied to https URLs, as its `fetchModels` does */
  proxyHelpers: null,
};
