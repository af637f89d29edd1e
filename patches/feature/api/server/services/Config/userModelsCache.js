const fs = require('fs');
const path = require('path');
const { isEnabled } = require('~/server/utils');

/** Cache namespace of the per-user model lists. */
const USER_MODELS_CACHE = 'USER_MODELS';

/** Default TTL of the store (one day; v0.7.5's data provider has no `Time.ONE_DAY`). */
const ONE_DAY_MS = 24 * 60 * 60 * 1000;

/** @type {Keyv | { get: Function, set: Function, delete: Function, clear: Function } | null} */
let cache = null;

/** `keyv` exports the class itself (v4) or `{ Keyv }` (v5), depending on the release. */
function getKeyvClass() {
  const keyv = require('keyv');
  return keyv.Keyv ?? keyv;
}

/** The `api` folder of this release */
const API_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * Loads a module of this release by its path from `api/`, or answers null when the release does
 * not have it (checked on disk, so a missing module is never confused with a failing one).
 * @param {string} modulePath - e.g. `cache/cacheFactory`
 * @returns {any | null}
 */
function optionalRequire(modulePath) {
  const file = path.join(API_ROOT, `${modulePath}.js`);
  if (!fs.existsSync(file)) {
    return null;
  }
  return require(file);
}

/**
 * Prefixes every key, for a Keyv that shares its Redis namespace with other caches.
 * @param {Keyv} keyv
 * @param {string} prefix
 */
function prefixed(keyv, prefix) {
  return {
    get: (key) => keyv.get(`${prefix}:${key}`),
    set: (key, value, ttl) => keyv.set(`${prefix}:${key}`, value, ttl),
    delete: (key) => keyv.delete(`${prefix}:${key}`),
    clear: async () => undefined,
  };
}

/**
 * Creates the store of the per-user model lists the way this release creates its caches:
 * - with `api/cache/cacheFactory.js` (v0.7.9): `standardCache` (Redis when `USE_REDIS=true`);
 * - without it (v0.7.5 to v0.7.8): the shared `~/cache/keyvRedis` store when Redis is enabled
 *   (keys prefixed, as these releases share one Redis namespace), else memory.
 * @param {(path: string) => any | null} [load] - Loads a module of this release, or null.
 */
function createUserModelsCache(load = optionalRequire) {
  const factory = load('cache/cacheFactory');
  if (factory?.standardCache) {
    return factory.standardCache(USER_MODELS_CACHE, ONE_DAY_MS);
  }
  const Keyv = getKeyvClass();
  if (process.env.REDIS_URI && isEnabled(process.env.USE_REDIS)) {
    const keyvRedis = load('cache/keyvRedis');
    if (keyvRedis) {
      return prefixed(new Keyv({ store: keyvRedis }), USER_MODELS_CACHE);
    }
  }
  return new Keyv({ namespace: USER_MODELS_CACHE, ttl: ONE_DAY_MS });
}

/** @returns {Keyv} The store of the per-user model lists (created on first use). */
function getUserModelsCache() {
  if (!cache) {
    cache = createUserModelsCache();
  }
  return cache;
}

module.exports = { USER_MODELS_CACHE, getUserModelsCache, createUserModelsCache, optionalRequire };
