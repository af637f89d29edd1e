const {
  USER_MODELS_CACHE,
  optionalRequire,
  getUserModelsCache,
  createUserModelsCache,
} = require('../userModelsCache');

/** A module loader for a release with the given modules (path -> module) */
const releaseWith = (modules) => (path) => modules[path] ?? null;

describe('userModelsCache', () => {
  const env = { ...process.env };

  beforeEach(() => {
    delete process.env.USE_REDIS;
    delete process.env.REDIS_URI;
  });

  afterAll(() => {
    process.env = env;
  });

  it('getUserModelsCache answers one store that keeps values', async () => {
    const cache = getUserModelsCache();
    expect(getUserModelsCache()).toBe(cache);
    await cache.set('u1:LiteLLM', { models: ['a'] }, 1000);
    expect(await cache.get('u1:LiteLLM')).toEqual({ models: ['a'] });
    await cache.delete('u1:LiteLLM');
    expect(await cache.get('u1:LiteLLM')).toBeUndefined();
  });

  it('uses the release cache factory when it has one (v0.7.9)', () => {
    const standardCache = jest.fn(() => ({ marker: 'factory' }));
    const cache = createUserModelsCache(releaseWith({ 'cache/cacheFactory': { standardCache } }));
    expect(cache).toEqual({ marker: 'factory' });
    expect(standardCache).toHaveBeenCalledWith(USER_MODELS_CACHE, 24 * 60 * 60 * 1000);
  });

  it('falls back to a memory store without a cache factory (v0.7.5 to v0.7.8)', async () => {
    const cache = createUserModelsCache(releaseWith({}));
    await cache.set('u1:LiteLLM', { models: ['a'] }, 1000);
    expect(await cache.get('u1:LiteLLM')).toEqual({ models: ['a'] });
  });

  it('prefixes its keys in the shared Redis store without a cache factory', async () => {
    process.env.USE_REDIS = 'true';
    process.env.REDIS_URI = 'redis://127.0.0.1:6379';
    const shared = new Map();
    const cache = createUserModelsCache(releaseWith({ 'cache/keyvRedis': shared }));
    await cache.set('u1:LiteLLM', { models: ['a'] }, 1000);
    expect(await cache.get('u1:LiteLLM')).toEqual({ models: ['a'] });
    expect([...shared.keys()]).toEqual([expect.stringContaining('USER_MODELS:u1:LiteLLM')]);
    await cache.delete('u1:LiteLLM');
    expect(shared.size).toBe(0);
  });

  it('optionalRequire answers null for a module the release does not have', () => {
    expect(optionalRequire('cache/noSuchModuleInAnyRelease')).toBeNull();
    expect(optionalRequire('cache/getLogStores')).toBe(require('~/cache/getLogStores'));
  });
});
