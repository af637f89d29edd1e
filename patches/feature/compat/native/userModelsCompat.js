/**
 * What the per-user models feature needs from LibreChat v0.8.5 and later (native per-user
 * fetching), in one place: the shared modules reach the release only through this adapter.
 * The app config is the request's (`req.config`) or the one of the user's role and tenant;
 * context and prices of a fetched list go where this release's `initializeCustom` reads them back.
 * Differences inside the family are detected by what `@librechat/api` exports:
 * `getAppConfigOptionsFromUser` and `resolveConfigSecret` (v0.8.8), `getTokenConfigKey` (v0.8.7).
 */
const { logger } = require('@librechat/data-schemas');
const api = require('@librechat/api');
const { normalizeEndpointName, extractEnvVariable } = require('librechat-data-provider');
const getLogStores = require('~/cache/getLogStores');
const { getAppConfig } = require('./app');

/**
 * @param {{ user?: object, appConfig?: AppConfig }} params
 * @returns {Promise<AppConfig>}
 */
async function loadAppConfig({ user, appConfig }) {
  if (appConfig) {
    return appConfig;
  }
  const options =
    typeof api.getAppConfigOptionsFromUser === 'function'
      ? api.getAppConfigOptionsFromUser(user)
      : { role: user?.role, userId: user?.id, tenantId: user?.tenantId };
  return getAppConfig(options);
}

/**
 * Where this release reads a user's token configuration (context, prices) back: under
 * `getTokenConfigKey` (v0.8.7+), else under `${name}:${userId}`, which v0.8.5 and v0.8.6 read
 * only for endpoints without a configured `tokenConfig` (then null).
 * @returns {{ store: Keyv, key: string } | null}
 */
function tokenConfigTarget(req, endpoint) {
  const scoped = typeof api.getTokenConfigKey === 'function';
  if (!scoped && endpoint.config?.tokenConfig != null) {
    return null;
  }
  const key = scoped
    ? api.getTokenConfigKey(endpoint.config, endpoint.name, req.user.id, req.user.tenantId)
    : `${endpoint.name}:${req.user.id}`;
  return { store: api.tokenConfigCache(), key };
}

const userKeys = () => require('~/models');

module.exports = {
  logger,
  isUserProvided: api.isUserProvided,
  normalizeEndpointName,
  extractBaseURL: api.extractBaseURL,
  resolveConfigSecret: (value) =>
    (typeof api.resolveConfigSecret === 'function'
      ? api.resolveConfigSecret(value ?? '')
      : extractEnvVariable(value ?? '')) ?? '',
  resolveHeaders: (headers, user) =>
    api.resolveHeaders({ headers, user, stripUnresolved: true }) ?? {},
  loadAppConfig,
  getUserKey: (params) => userKeys().getUserKey(params),
  getUserKeyExpiry: (params) => userKeys().getUserKeyExpiry(params),
  getUserModelsCache: () => getLogStores('USER_MODELS'),
  tokenConfigTarget,
  /** v0.8.7's `fetchModels` keeps a configured Authorization header; v0.8.5 and v0.8.6 replace it */
  keepsConfiguredAuthorization: typeof api.getTokenConfigKey === 'function',
  /** The release's ioredis client when it runs with Redis (`USE_REDIS`), else null */
  getRedisClient: () => api.ioredisClient ?? null,
  /** v0.8.7+: LibreChat's proxy helper (PROXY or HTTP(S)_PROXY, NO_PROXY), as its `fetchModels` */
  proxyHelpers:
    typeof api.applyAxiosProxyConfig === 'function'
      ? {
          applyAxiosProxyConfig: api.applyAxiosProxyConfig,
          getProxyUrlForUrl: api.getProxyUrlForUrl,
        }
      : null,
};
