#!/usr/bin/env node
/**
 * Feature benchmark: per-user dynamic models on a patched LibreChat tree (v0.8.0 and later).
 *
 *   node scripts/bench-feature.js /path/to/patched/LibreChat [--users 50] [--requests 200] [--sessions 6]
 *     [--delay 2000] [--openrouter 300] [--redis redis://127.0.0.1:PORT]
 *
 * The tree must be installed (npm dependencies, `npm run build:packages`) and patched with
 * `librechat-dynmodels apply`; the unpatched `getModelsConfig` is loaded from the tool's backup
 * in `.librechat-dynmodels/backups/`, so both run in one process on the same caches.
 *
 * A local fake OpenAI-compatible `/models` server answers every user's key with its own list and
 * counts requests. The database is replaced by an in-memory key store and the app config by one
 * dynamic custom endpoint; LibreChat's own cache stores (in-memory Keyv) are used as they are.
 * Time is simulated: `Date.now()` is driven through one day, so TTLs and the 5-minute refresh rule
 * apply as they would in a day of use.
 *
 * Prints: upstream fetches made by the patched tree over the simulated day, the same count for
 * "refetch on every request" (the v0.8.5 native behaviour), the largest number of upstream fetches
 * one user caused in any 5-minute window, and the median and p99 latency of `getModelsConfig`
 * on a warm per-user cache against the unpatched function.
 *
 * With `--delay MS` the provider then answers in MS milliseconds, and every user's cached list is
 * aged past the 5-minute max-age: `getModelsConfig` is timed on these stale warm entries (served at
 * once, refreshed behind the request), with the upstream fetches they caused and whether the
 * refreshed lists are served afterwards.
 *
 * With `--openrouter N` the provider answers N OpenRouter-shaped models per key (name, description,
 * context, pricing, modalities, parameters): the latency is then measured with that metadata in the
 * cache, and it prints the size of one cached entry with its metadata and the upstream requests one
 * list fetch makes, for an OpenRouter-shaped answer and for a LiteLLM proxy (`/model/info`).
 *
 * With `--redis URI` LibreChat's caches (and the feature's `USER_MODELS` store) live in that Redis
 * (`USE_REDIS=true`, `REDIS_URI`), as with several API instances: only the warm-cache latency is
 * measured then (Redis keeps time by its own clock, so the simulated day would not expire anything),
 * on the real clock, after one fetch per user. Use an empty, throwaway Redis: the run writes to it.
 *
 * On a native release (v0.8.5 and later, patched with the native extras series) the unpatched
 * controller runs LibreChat's own per-user loader (`createLoadConfigModels` with its own
 * `fetchModels`) against the same fake provider, so its upstream count is measured, not computed.
 */
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');
const Module = require('module');

function parseArgs(argv) {
  const options = { users: 50, requests: 200, sessions: 6, samples: 5000, delay: 0, openrouter: 0, redis: '' };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const match = /^--(users|requests|sessions|samples|delay|openrouter)$/.exec(argv[i]);
    if (match) {
      options[match[1]] = parseInt(argv[++i], 10);
    } else if (argv[i] === '--redis') {
      options.redis = argv[++i] ?? '';
    } else {
      rest.push(argv[i]);
    }
  }
  if (rest.length !== 1) {
    console.error(
      'usage: node scripts/bench-feature.js TREE [--users N] [--requests M] [--sessions S] [--delay MS]',
    );
    process.exit(2);
  }
  return { tree: path.resolve(rest[0]), ...options };
}

const options = parseArgs(process.argv.slice(2));
if (options.redis) {
  /* Read by LibreChat's cache modules when they load, below */
  process.env.USE_REDIS = 'true';
  process.env.REDIS_URI = options.redis;
}
const api = path.join(options.tree, 'api');
const backup = path.join(
  options.tree,
  '.librechat-dynmodels/backups/api/server/controllers/ModelController.js',
);
for (const [what, file] of [
  ['the patched module', path.join(api, 'server/services/Config/userModels.js')],
  ['the backup of the unpatched ModelController (apply with librechat-dynmodels)', backup],
  ['installed dependencies', path.join(options.tree, 'node_modules/module-alias')],
]) {
  if (!fs.existsSync(file)) {
    console.error(`error: ${file}: ${what} not found`);
    process.exit(1);
  }
}

/* Simulated clock: Keyv's TTLs and the feature's rules all read Date.now(). */
const realNow = Date.now;
let simulatedNow = realNow();
Date.now = () => simulatedNow;

/* The fake provider: GET /v1/models answers the models of the presented key; counts per key. */
const upstreamCalls = new Map();
let providerDelay = 0;
let listVersion = 1;
/** `--openrouter`: OpenRouter-shaped items; `liteLLM`: the answer names LiteLLM, /model/info answers */
let liteLLM = false;
const openRouterItem = (id, n) => ({
  id,
  name: `Vendor ${n % 40}: Model ${n}`,
  description: `Model ${n} is a large language model. `.repeat(12),
  context_length: 8192 * (1 + (n % 32)),
  pricing: { prompt: String((n % 7) * 0.000001), completion: String((n % 7) * 0.000004) },
  architecture: { input_modalities: n % 3 ? ['text'] : ['text', 'image'], output_modalities: ['text'] },
  supported_parameters: n % 2 ? ['temperature', 'tools', 'tool_choice'] : ['temperature'],
  top_provider: { max_completion_tokens: 4096 },
});
const server = http.createServer((req, res) => {
  const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  upstreamCalls.set(key, (upstreamCalls.get(key) ?? 0) + 1);
  res.setHeader('content-type', 'application/json');
  const count = options.openrouter || 3;
  const ids = Array.from({ length: count }, (_, i) => i + 1).map((n) =>
    listVersion === 1 ? `${key}-model-${n}` : `${key}-v${listVersion}-${n}`,
  );
  if (liteLLM) {
    res.setHeader('x-litellm-version', '1.0.0-bench');
  }
  let body;
  if (req.url.startsWith('/v1/model/info')) {
    const info = (n) => ({ max_input_tokens: 128000, input_cost_per_token: 1e-6 * n, supports_vision: true });
    body = JSON.stringify({ data: ids.map((id, n) => ({ model_name: id, model_info: info(n) })) });
  } else if (options.openrouter && !liteLLM) {
    body = JSON.stringify({ data: ids.map((id, n) => openRouterItem(id, n)) });
  } else {
    body = JSON.stringify({ data: ids.map((id) => ({ id, object: 'model' })) });
  }
  setTimeout(() => res.end(body), providerDelay);
});

/* In-memory stand-ins for the database and the app config, installed before LibreChat loads. */
const endpointName = 'BenchProxy';
const keyOf = (userId) => `key-${userId}`;
function stubModule(relative, exports) {
  const filename = require.resolve(path.join(api, relative));
  const stub = new Module(filename);
  stub.filename = filename;
  stub.loaded = true;
  stub.exports = exports;
  require.cache[filename] = stub;
}

function fakeDatabase() {
  const noop = async () => null;
  const keys = {
    getUserKey: async ({ userId }) => JSON.stringify({ apiKey: keyOf(userId) }),
    getUserKeyValues: async ({ userId }) => ({ apiKey: keyOf(userId) }),
    getUserKeyExpiry: async () => ({ expiresAt: 'never' }),
  };
  return new Proxy(keys, { get: (target, name) => target[name] ?? noop });
}

async function main() {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseURL = `http://127.0.0.1:${server.address().port}/v1`;
  const appConfig = {
    endpoints: {
      custom: [
        {
          name: endpointName,
          apiKey: 'user_provided',
          baseURL, // configured by the admin, so not subject to the user-URL guard
          models: { default: ['default-model'], fetch: true },
        },
      ],
    },
  };
  const sharedDefaults = { openAI: ['gpt-4o', 'gpt-4o-mini'], [endpointName]: ['default-model'] };

  process.chdir(api); // LibreChat's logger writes its files under the working directory
  require(path.join(options.tree, 'node_modules/module-alias'))({ base: api });
  const database = fakeDatabase();
  const getAppConfig = async () => appConfig;
  stubModule('models/index.js', database);
  stubModule('server/services/Config/app.js', { getAppConfig });
  /* Before v0.8.5 the shared loader lists the defaults for a user-provided key; from v0.8.5 it is
   * LibreChat's own per-user loader, which fetches with the user's key on every call. */
  const librechatApi = require(require.resolve('@librechat/api', { paths: [api] }));
  const native = typeof librechatApi.createLoadConfigModels === 'function';
  const loadConfigModels = native
    ? librechatApi.createLoadConfigModels({
        getAppConfig,
        getUserKeyValues: database.getUserKeyValues,
        fetchModels: librechatApi.fetchModels,
      })
    : async () => ({ [endpointName]: sharedDefaults[endpointName] });
  stubModule('server/services/Config/index.js', {
    getAppConfig,
    loadDefaultModels: async () => ({ openAI: sharedDefaults.openAI }),
    loadConfigModels,
  });
  const patched = require(path.join(api, 'server/controllers/ModelController.js'));
  const unpatched = require(backup);
  const { overlayUserModelsWithState } = require(path.join(api, 'server/services/Config/userModels.js'));

  /* One simulated day: every user has a few sessions; each starts with the client's refresh
   * (POST /api/models/fetch without force) and goes on with /api/models requests a few seconds
   * to a few minutes apart, as model menus, validateModel and agents ask for the config. */
  const users = Array.from({ length: options.users }, (_, i) => ({ id: `user${i}`, role: 'USER' }));
  const day = 24 * 60 * 60 * 1000;
  const start = simulatedNow;
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const events = [];
  for (const user of users) {
    const perSession = Math.max(1, Math.floor(options.requests / options.sessions));
    for (let s = 0; s < options.sessions; s++) {
      let at = start + Math.floor(random() * (day - 3 * 60 * 60 * 1000));
      events.push({ at, user, kind: 'refresh' });
      for (let r = 0; r < perSession; r++) {
        at += 2000 + Math.floor(random() * 120000);
        events.push({ at, user, kind: 'models' });
      }
    }
  }
  events.sort((a, b) => a.at - b.at);

  const modelRequests = events.filter((event) => event.kind === 'models').length;

  if (options.redis) {
    Date.now = realNow;
    await warmLatencyOnRedis(patched, unpatched, users);
    server.close();
    process.exit(0);
  }

  /** Runs the day through one controller; answers its upstream fetches and the worst 5-minute window. */
  async function simulateDay(controller, refresh) {
    upstreamCalls.clear();
    const fetchTimes = new Map(); // user id -> simulated times of its upstream fetches
    for (const event of events) {
      simulatedNow = event.at;
      const req = { user: event.user };
      const before = upstreamCalls.get(keyOf(event.user.id)) ?? 0;
      if (event.kind === 'refresh') {
        await refresh(req);
      } else {
        const config = await controller.getModelsConfig(req);
        if (!config[endpointName]?.includes(`${keyOf(event.user.id)}-model-1`)) {
          throw new Error(`${event.user.id} did not get its own models`);
        }
      }
      const made = (upstreamCalls.get(keyOf(event.user.id)) ?? 0) - before;
      const times = fetchTimes.get(event.user.id) ?? [];
      times.push(...Array(made).fill(event.at));
      fetchTimes.set(event.user.id, times);
    }
    let worstWindow = 0;
    for (const times of fetchTimes.values()) {
      for (let i = 0; i < times.length; i++) {
        const inWindow = times.filter((t) => t >= times[i] && t < times[i] + 5 * 60 * 1000).length;
        worstWindow = Math.max(worstWindow, inWindow);
      }
    }
    return { fetches: [...upstreamCalls.values()].reduce((a, b) => a + b, 0), worstWindow };
  }

  /* The client's refresh is POST /api/models/fetch when patched; a page load asks GET /api/models. */
  const patchedDay = await simulateDay(patched, async (req) => {
    const shared = await patched.loadSharedModels(req);
    await overlayUserModelsWithState(req, shared, { modes: { [endpointName]: 'refresh' } });
  });
  const patchedFetches = patchedDay.fetches;
  const worstWindow = patchedDay.worstWindow;
  /* Refetch on every request: measured on a native release, else one fetch per request. */
  const nativeDay = native
    ? await simulateDay(unpatched, (req) => unpatched.getModelsConfig(req))
    : { fetches: events.length, worstWindow: null };
  const nativeFetches = nativeDay.fetches;

  /* Latency of getModelsConfig on a warm cache, patched against unpatched, interleaved. The
   * refreshes the day's last requests started behind them finish first: the loop below yields to
   * I/O between samples only, so a fetch still in flight would hit its deadline there (a `timeout`)
   * and a forced fetch afterwards would join it (single flight) and make no request of its own. */
  await settleBackgroundFetches();
  Date.now = realNow;
  simulatedNow = realNow();
  const req = { user: users[0] };
  await patched.getModelsConfig(req);
  await unpatched.getModelsConfig(req);
  const timings = await timeWarmPath(patched, unpatched, req);
  const ms = (value) => `${value.toFixed(3)} ms`;
  const median = { patched: quantile(timings.patched, 0.5), unpatched: quantile(timings.unpatched, 0.5) };
  const p99 = { patched: quantile(timings.patched, 0.99), unpatched: quantile(timings.unpatched, 0.99) };

  console.log(
    `simulated day: ${options.users} users, ${options.sessions} sessions each, ` +
      `${modelRequests} /api/models requests, ${events.length - modelRequests} client refreshes`,
  );
  console.log(`upstream fetches, patched (per-user cache):     ${patchedFetches}`);
  console.log(
    `upstream fetches, refetch on every request:     ${nativeFetches}` +
      (native ? ' (measured: unpatched native loader)' : ' (one per request, as v0.8.5 does)'),
  );
  console.log(
    `most upstream fetches by one user in 5 minutes: ${worstWindow} patched` +
      (native ? `, ${nativeDay.worstWindow} unpatched` : '') +
      ' (target: at most 1 per endpoint)',
  );
  console.log(`getModelsConfig, warm cache (${options.samples} samples each):`);
  console.log(`  unpatched  median ${ms(median.unpatched)}  p99 ${ms(p99.unpatched)}`);
  console.log(`  patched    median ${ms(median.patched)}  p99 ${ms(p99.patched)}`);
  console.log(
    `  added      median ${ms(median.patched - median.unpatched)}  p99 ${ms(p99.patched - p99.unpatched)}` +
      ' (target: under 1 ms median)',
  );
  if (options.openrouter) {
    await metadataFigures(users[0]);
  }
  if (options.delay > 0) {
    const fresh = Array.from({ length: Math.min(options.users, 20) }, (_, i) => ({
      id: `stale${i}`,
      role: 'USER',
    }));
    await staleEntriesUnderSlowProvider(patched, fresh, quantile, ms);
  }
  server.close();
  process.exit(0);
}

/** `getModelsConfig` of both controllers, interleaved, `options.samples` times each (ms) */
async function timeWarmPath(patched, unpatched, req) {
  const timings = { patched: [], unpatched: [] };
  for (let i = 0; i < options.samples; i++) {
    for (const [name, controller] of [
      ['patched', patched],
      ['unpatched', unpatched],
    ]) {
      const t0 = process.hrtime.bigint();
      await controller.getModelsConfig(req);
      timings[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    await new Promise((resolve) => setImmediate(resolve)); // as a server does between requests
  }
  return timings;
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * `--redis`: getModelsConfig on a warm per-user cache held in Redis, patched against unpatched, on
 * the real clock; the same samples and figures as the in-memory run.
 */
async function warmLatencyOnRedis(patched, unpatched, users) {
  const req = { user: users[0] };
  upstreamCalls.clear();
  await patched.getModelsConfig(req);
  await settleBackgroundFetches();
  const config = await patched.getModelsConfig(req);
  if (!config[endpointName]?.includes(`${keyOf(users[0].id)}-model-1`)) {
    throw new Error(`${users[0].id} did not get its own models through Redis`);
  }
  await unpatched.getModelsConfig(req);
  const before = upstreamCalls.get(keyOf(users[0].id)) ?? 0;
  const timings = await timeWarmPath(patched, unpatched, req);
  const patchedOnly = (upstreamCalls.get(keyOf(users[0].id)) ?? 0) - before;
  const ms = (value) => `${value.toFixed(3)} ms`;
  console.log(`getModelsConfig, warm cache in Redis ${options.redis} (${options.samples} samples each):`);
  for (const name of ['unpatched', 'patched']) {
    console.log(`  ${name.padEnd(9)}  median ${ms(quantile(timings[name], 0.5))}  p99 ${ms(quantile(timings[name], 0.99))}`);
  }
  console.log(
    `  added      median ${ms(quantile(timings.patched, 0.5) - quantile(timings.unpatched, 0.5))}` +
      ' (target: under 1 ms median)',
  );
  console.log(`upstream fetches during the samples (both controllers): ${patchedOnly}`);
}

/** Waits until the fake provider has had no request for 200 ms (real time). */
async function settleBackgroundFetches() {
  const total = () => [...upstreamCalls.values()].reduce((a, b) => a + b, 0);
  for (let quiet = 0, seen = total(); quiet < 4; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    quiet = total() === seen ? quiet + 1 : 0;
    seen = total();
  }
}

/**
 * `--openrouter`: the size of one cached entry with its metadata (JSON, as Redis stores it), and
 * the upstream requests one forced list fetch makes for an OpenRouter-shaped and a LiteLLM answer.
 */
async function metadataFigures(user) {
  const { getUserModelsCache } = require(path.join(api, 'server/services/Config/userModelsCompat.js'));
  const { overlayUserModelsWithState } = require(path.join(api, 'server/services/Config/userModels.js'));
  const cache = getUserModelsCache();
  const index = await cache.get(`${user.id}:${endpointName}`);
  const entryKey = index?.digest ? `${user.id}:${endpointName}:${index.digest}` : null;
  const entry = entryKey ? await cache.get(entryKey) : null;
  /* The metadata is under its own key (`${entryKey}:meta`); before, inside the entry */
  const meta = entry?.meta ?? (entryKey ? await cache.get(`${entryKey}:meta`) : null);
  const bytes = (value) => Buffer.byteLength(JSON.stringify(value ?? null));
  console.log(
    `cached entry, ${options.openrouter}-model OpenRouter-shaped list: list key ${bytes(entry)} bytes, ` +
      `meta key ${entry?.meta ? 'none (inside the list)' : `${bytes(meta)} bytes`} (JSON), ` +
      `${meta ? Object.keys(meta).length : 0} models with metadata`,
  );
  for (const [label, litellm] of [
    ['OpenRouter-shaped', false],
    ['LiteLLM (x-litellm-* headers, /model/info)', true],
  ]) {
    liteLLM = litellm;
    upstreamCalls.clear();
    const shared = { [endpointName]: ['default-model'] };
    const { dynamic } = await overlayUserModelsWithState({ user }, shared, {
      modes: { [endpointName]: 'force' },
    });
    const made = upstreamCalls.get(keyOf(user.id)) ?? 0;
    const metaCount = Object.keys(dynamic[endpointName]?.meta ?? {}).length;
    console.log(
      `upstream requests per list fetch, ${label}: ${made} (${metaCount} models with metadata;` +
        ' target: 1 list + at most 1 metadata)',
    );
  }
  liteLLM = false;
}

/**
 * `--delay`: every user's list is cached, the provider becomes slow and lists new ids, the lists
 * age past the max-age; then each user asks `getModelsConfig` a number of times.
 */
async function staleEntriesUnderSlowProvider(patched, users, quantile, ms) {
  let clock = realNow();
  Date.now = () => clock;
  const fetchesOfUsers = () => users.reduce((sum, user) => sum + (upstreamCalls.get(keyOf(user.id)) ?? 0), 0);
  upstreamCalls.clear();
  await Promise.all(users.map((user) => patched.getModelsConfig({ user })));
  const warmed = fetchesOfUsers();

  providerDelay = options.delay;
  listVersion = 2;
  clock += 6 * 60 * 1000;
  upstreamCalls.clear();
  const rounds = 25;
  const timings = [];
  const phaseStart = realNow();
  for (let round = 0; round < rounds; round++) {
    for (const user of users) {
      const t0 = process.hrtime.bigint();
      await patched.getModelsConfig({ user });
      timings.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    await new Promise((resolve) => setImmediate(resolve)); // the server's other work runs between rounds
  }
  const phaseMs = realNow() - phaseStart;
  /* 20 refreshes share the process's 16 fetch slots: two rounds of the provider's delay */
  await new Promise((resolve) => setTimeout(resolve, 2 * options.delay + 1000));
  const during = fetchesOfUsers();
  let refreshed = 0;
  for (const user of users) {
    const config = await patched.getModelsConfig({ user });
    if (config[endpointName]?.includes(`${keyOf(user.id)}-v2-1`)) {
      refreshed += 1;
    }
  }
  console.log(
    `stale warm entries, provider answering in ${options.delay} ms ` +
      `(${users.length} users, ${warmed} warm-up fetches, lists 6 minutes old):`,
  );
  console.log(
    `  getModelsConfig x ${timings.length} in ${phaseMs} ms: median ${ms(quantile(timings, 0.5))}` +
      `  p99 ${ms(quantile(timings, 0.99))}  max ${ms(Math.max(...timings))}` +
      ` (target: no request waits the ${options.delay} ms)`,
  );
  console.log(
    `  upstream fetches they caused: ${during} (one background refresh per user: ${users.length})`,
  );
  console.log(`  refreshed lists served afterwards: ${refreshed} of ${users.length}`);
}

main().catch((error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
