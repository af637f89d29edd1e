/**
 * The LibreChat release around the per-user models feature, for the feature's specs: one set of
 * specs runs on every release because this helper mocks the release's own modules where this
 * release keeps them (found by reading the release's files, not by its version number):
 * - the user keys (`~/models`, or `UserService` before v0.8.2) as an in-memory store;
 * - the app config (`getAppConfig` from v0.8.0, `getCustomConfig` in v0.7.x);
 * - the logger the feature logs through (`~/config` in v0.7.x, `@librechat/data-schemas` after),
 *   recording every call;
 * - the caches (`getLogStores` as in-memory Keyv stores; `logViolation` recorded);
 * - with `{ loaders: true }`, the models loaders of `~/server/services/Config`, and its
 *   `getEndpointsConfig` as the release's own (its `userProvide`, from the mocked app config).
 * Call it before requiring any module under test (`jest.doMock` is not hoisted).
 */
const fs = require('fs');
const path = require('path');

const API_ROOT = path.resolve(__dirname, '..');
const read = (file) => {
  const full = path.join(API_ROOT, file);
  return fs.existsSync(full) ? fs.readFileSync(full, 'utf8') : '';
};

const layout = Object.freeze({
  keysModule: /services\/UserService'\)/.test(read('server/routes/keys.js'))
    ? '~/server/services/UserService'
    : '~/models',
  appConfigModule: fs.existsSync(path.join(API_ROOT, 'server/services/Config/app.js'))
    ? '~/server/services/Config/app'
    : '~/server/services/Config/getCustomConfig',
  loggerModule: read('server/services/Config/userModelsCompat.js').includes("require('~/config')")
    ? '~/config'
    : '@librechat/data-schemas',
  /** v0.8.5+: LibreChat fetches per-user lists itself; the feature adds its extras */
  native: fs.existsSync(path.join(API_ROOT, 'server/services/Config/userModelsNative.js')),
  /** v0.7.x: the feature keeps its own store (`userModelsCache`) */
  ownCache: fs.existsSync(path.join(API_ROOT, 'server/services/Config/userModelsCache.js')),
});

const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly', 'log'];

/** Custom endpoints (librechat.yaml entries) the specs configure */
const endpoints = Object.freeze({
  /** dynamic: the user's key, the admin's URL */
  liteLLM: Object.freeze({
    name: 'LiteLLM',
    apiKey: 'user_provided',
    baseURL: 'https://litellm.example.com/v1',
    models: { default: ['gpt-4o-mini'], fetch: true },
  }),
  /** dynamic: the user's key and URL */
  myProxy: Object.freeze({
    name: 'MyProxy',
    apiKey: 'user_provided',
    baseURL: 'user_provided',
    models: { default: ['proxy-default'], fetch: true },
  }),
  /** not dynamic: no `models.fetch` */
  static: Object.freeze({
    name: 'Static',
    apiKey: 'user_provided',
    baseURL: 'https://static.example.com/v1',
    models: { default: ['static-1'], fetch: false },
  }),
});

/** An app config (or v0.7.x custom config) with these custom endpoints */
const appConfigWith = (...custom) => ({ endpoints: { custom } });

/**
 * @param {typeof jest} jest - The spec's `jest` object.
 * @param {{ loaders?: boolean }} [options]
 */
function mockUserModelsHost(jest, { loaders = false } = {}) {
  /** userId -> endpoint name -> { value, expiresAt } */
  let keys = {};
  let appConfig = null;
  const logs = [];

  /** Every mock function with its implementation, restored by `reset()` */
  const mocks = [];
  const mockFn = (impl) => {
    const fn = jest.fn(impl);
    mocks.push([fn, impl]);
    return fn;
  };

  const logger = {};
  for (const level of LOG_LEVELS) {
    logger[level] = (...args) => logs.push([level, ...args]);
  }
  if (layout.loggerModule === '~/config') {
    jest.doMock('~/config', () => ({ logger }));
  } else {
    jest.doMock('@librechat/data-schemas', () => ({
      ...jest.requireActual('@librechat/data-schemas'),
      logger,
    }));
  }

  const userKeys = {
    getUserKey: mockFn(async ({ userId, name }) => {
      const saved = keys[userId]?.[name];
      if (!saved) {
        throw new Error('no key');
      }
      return saved.value;
    }),
    getUserKeyExpiry: mockFn(async ({ userId, name }) => {
      const saved = keys[userId]?.[name];
      return { expiresAt: saved ? saved.expiresAt : null };
    }),
    getUserKeyValues: mockFn(async ({ userId, name }) => JSON.parse(keys[userId][name].value)),
    updateUserKey: mockFn(async ({ userId, name, value, expiresAt }) => {
      keys[userId] = keys[userId] ?? {};
      keys[userId][name] = { value, expiresAt: expiresAt || 'never' };
    }),
    deleteUserKey: mockFn(async ({ userId, name, all }) => {
      if (all) {
        delete keys[userId];
      } else if (keys[userId]) {
        delete keys[userId][name];
      }
    }),
  };
  jest.doMock(layout.keysModule, () => userKeys);

  const getAppConfig = mockFn(async () => appConfig);
  if (layout.appConfigModule === '~/server/services/Config/app') {
    jest.doMock(layout.appConfigModule, () => ({ getAppConfig }));
  } else {
    /** v0.7.5 exports the function itself, v0.7.6+ `{ getCustomConfig }` */
    getAppConfig.getCustomConfig = getAppConfig;
    jest.doMock(layout.appConfigModule, () => getAppConfig);
  }

  const stores = {};
  const getLogStores = mockFn((key) => {
    const keyv = jest.requireActual('keyv');
    const Keyv = keyv.Keyv ?? keyv;
    stores[key] = stores[key] ?? new Keyv({ namespace: String(key) });
    return stores[key];
  });
  const logViolation = mockFn(() => undefined);
  jest.doMock('~/cache/getLogStores', () => getLogStores);
  jest.doMock('~/cache', () => ({ getLogStores, logViolation }));

  const modelLoaders = {
    loadDefaultModels: mockFn(async () => ({})),
    loadConfigModels: mockFn(async () => ({})),
    getEndpointsConfig: mockFn(async (req) =>
      fs.existsSync(path.join(API_ROOT, 'server/services/Config/getEndpointsConfig.js'))
        ? jest.requireActual('~/server/services/Config/getEndpointsConfig').getEndpointsConfig(req)
        : jest.requireActual('~/server/services/Config/loadConfigEndpoints')(req),
    ),
  };
  if (loaders) {
    jest.doMock('~/server/services/Config', () => modelLoaders);
  }

  return {
    layout,
    logs,
    userKeys,
    getAppConfig,
    getLogStores,
    logViolation,
    modelLoaders,
    /** Saves a key as `PUT /api/keys` would (`expiresAt`: an ISO date, or 'never'). */
    saveKey(userId, name, values, expiresAt = 'never') {
      keys[userId] = keys[userId] ?? {};
      keys[userId][name] = { value: JSON.stringify(values), expiresAt };
    },
    /** Stores a raw (possibly malformed) key value. */
    saveRawKey(userId, name, value, expiresAt = 'never') {
      keys[userId] = keys[userId] ?? {};
      keys[userId][name] = { value, expiresAt };
    },
    hasKey: (userId, name) => Boolean(keys[userId]?.[name]),
    setAppConfig(config) {
      appConfig = config;
    },
    /**
     * Forgets keys, the app config, logs and every cache entry (the feature's own store
     * included), and gives every mock its implementation back.
     */
    async reset() {
      keys = {};
      appConfig = null;
      for (const [fn, impl] of mocks) {
        fn.mockReset();
        fn.mockImplementation(impl);
      }
      logs.length = 0;
      for (const store of Object.values(stores)) {
        await store.clear();
      }
      if (layout.ownCache) {
        await require('~/server/services/Config/userModelsCache').getUserModelsCache().clear();
      }
    },
    /** Every logged line and argument as one string, to search for secrets. */
    logText: () => JSON.stringify(logs),
    /** Fails the test when any logger call carries one of these secrets. */
    expectNoneLogged(secrets) {
      const logged = JSON.stringify(logs);
      for (const secret of secrets) {
        expect(logged).not.toContain(secret);
      }
    },
  };
}

module.exports = { mockUserModelsHost, layout, endpoints, appConfigWith };
