#!/usr/bin/env node
/**
 * One API instance of a patched LibreChat tree for `scripts/redis-instances.py`: the feature's own
 * modules (the patched `ModelController`, `userModels`, `UserModelsController`) loaded as the
 * server loads them, with `USE_REDIS` and `REDIS_URI` from the environment, behind a small HTTP
 * interface. Not meant to be run by hand.
 *
 *   node scripts/redis-instance.js TREE PORT PROVIDER_URL
 *
 * The database is replaced by a key store in the same Redis (so every instance sees the keys a
 * user saves through another), the app config by one dynamic custom endpoint on the fake provider.
 *
 *   GET    /models?user=U          the user's list of the endpoint (getModelsConfig)
 *   POST   /fetch?user=U&force=1   POST /api/models/fetch (status and body)
 *   PUT    /key?user=U&key=K       saves a key and invalidates the user's lists, as routes/keys.js
 *                                  (`&invalidate=0`: saves it only, as if the invalidation was lost)
 *   DELETE /key?user=U             revokes it, likewise
 *   POST   /hold-key?user=U&ms=MS  the next read of U's key in this instance takes MS (a slow database)
 *   GET    /stored?text=T          how many values in Redis contain T (e.g. the ids of a key's list)
 *   POST   /clock?offset=MS        moves this process's clock forward (Date.now)
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const Module = require('module');

const [tree, port, providerURL] = process.argv.slice(2);
const api = path.join(path.resolve(tree), 'api');
const ENDPOINT = 'RedisProxy';

let clockOffset = 0;
const realNow = Date.now;
Date.now = () => realNow() + clockOffset;

function stubModule(relative, exports) {
  const filename = path.join(api, relative);
  const stub = new Module(filename);
  stub.filename = filename;
  stub.loaded = true;
  stub.exports = exports;
  require.cache[filename] = stub;
}

process.chdir(api);
require(require.resolve('module-alias', { paths: [api] }))({ base: api });
const Redis = require(require.resolve('ioredis', { paths: [api] }));
const store = new Redis(process.env.REDIS_URI);
const keyOf = (userId, name) => `dynmodels-test:key:${userId}:${name}`;
/** userId -> ms the next key read of that user waits after reading (POST /hold-key) */
const heldReads = new Map();

const keys = {
  getUserKey: async ({ userId, name }) => {
    const value = await store.get(keyOf(userId, name));
    const hold = heldReads.get(userId);
    if (hold) {
      heldReads.delete(userId);
      await new Promise((resolve) => setTimeout(resolve, hold));
    }
    if (value == null) {
      throw new Error('No key found');
    }
    return value;
  },
  getUserKeyValues: async (params) => JSON.parse(await keys.getUserKey(params)),
  getUserKeyExpiry: async ({ userId, name }) =>
    (await store.exists(keyOf(userId, name))) ? { expiresAt: 'never' } : { expiresAt: null },
};
const appConfig = {
  endpoints: {
    custom: [
      {
        name: ENDPOINT,
        apiKey: 'user_provided',
        baseURL: providerURL, // configured by the admin: no user-URL check
        models: { default: ['default-model'], fetch: true },
      },
    ],
  },
};
const getAppConfig = async () => appConfig;
const defaults = { openAI: ['gpt-4o'], [ENDPOINT]: ['default-model'] };

/* Where this release keeps the user keys and the app config (as api/test/userModelsHost.js) */
const userService = /services\/UserService'\)/.test(
  fs.readFileSync(path.join(api, 'server/routes/keys.js'), 'utf8'),
);
if (userService) {
  stubModule('server/services/UserService.js', keys);
} else {
  const noop = async () => null;
  stubModule('models/index.js', new Proxy(keys, { get: (t, name) => t[name] ?? noop }));
}
if (fs.existsSync(path.join(api, 'server/services/Config/app.js'))) {
  stubModule('server/services/Config/app.js', { getAppConfig });
} else {
  const getCustomConfig = Object.assign(async () => appConfig, { getCustomConfig: getAppConfig });
  stubModule('server/services/Config/getCustomConfig.js', getCustomConfig);
}
stubModule('server/services/Config/index.js', {
  getAppConfig,
  getCustomConfig: getAppConfig,
  loadDefaultModels: async () => ({ openAI: defaults.openAI }),
  loadConfigModels: async () => ({ [ENDPOINT]: defaults[ENDPOINT] }),
});
/* Native releases load the shared lists through the extras' own loader */
const nativeLoader = path.join(api, 'server/services/Config/userModelsNative.js');
if (fs.existsSync(nativeLoader)) {
  const native = require(nativeLoader);
  native.loadSharedConfigModels = async () => ({ [ENDPOINT]: defaults[ENDPOINT] });
}

const { getModelsConfig } = require(path.join(api, 'server/controllers/ModelController.js'));
const { invalidateUserModels } = require(path.join(api, 'server/services/Config/userModels.js'));
const { fetchUserModelsController } = require(
  path.join(api, 'server/controllers/UserModelsController.js'),
);

async function answer(req, url) {
  const user = { id: url.searchParams.get('user'), role: 'USER' };
  if (url.pathname === '/ready') {
    return [200, { ready: true }];
  }
  if (url.pathname === '/models') {
    const config = await getModelsConfig({ user });
    return [200, { models: config[ENDPOINT] }];
  }
  if (url.pathname === '/fetch') {
    const result = {};
    const res = {
      status(code) {
        result.status = code;
        return res;
      },
      set: () => res,
      send(body) {
        result.body = body;
        return res;
      },
    };
    const force = url.searchParams.get('force') === '1';
    await fetchUserModelsController({ user, body: { endpoint: ENDPOINT, force } }, res);
    return [result.status, result.body];
  }
  if (url.pathname === '/key') {
    if (req.method === 'PUT') {
      await store.set(
        keyOf(user.id, ENDPOINT),
        JSON.stringify({ apiKey: url.searchParams.get('key') }),
      );
    } else {
      await store.del(keyOf(user.id, ENDPOINT));
    }
    if (url.searchParams.get('invalidate') !== '0') {
      await invalidateUserModels({ userId: user.id, name: ENDPOINT });
    }
    return [200, { ok: true }];
  }
  if (url.pathname === '/hold-key') {
    heldReads.set(user.id, parseInt(url.searchParams.get('ms'), 10));
    return [200, { ok: true }];
  }
  if (url.pathname === '/stored') {
    const text = url.searchParams.get('text');
    let count = 0;
    for (const key of await store.keys('*')) {
      if ((await store.type(key)) === 'string' && (await store.get(key)).includes(text)) {
        count += 1;
      }
    }
    return [200, { count }];
  }
  if (url.pathname === '/clock') {
    clockOffset += parseInt(url.searchParams.get('offset'), 10);
    return [200, { now: Date.now() }];
  }
  return [404, { error: 'not found' }];
}

http
  .createServer((req, res) => {
    const url = new URL(req.url, 'http://instance');
    answer(req, url)
      .then(([status, body]) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body ?? null));
      })
      .catch((error) => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: error.message }));
      });
  })
  .listen(Number(port), '127.0.0.1', () => console.log(`instance ready on ${port}`));
