const { mockUserModelsHost, endpoints } = require('~/test/userModelsHost');

jest.mock('~/server/middleware', () => {
  const requireJwtAuth = jest.fn((req, res, next) => {
    const match = /^Bearer (\w+)$/.exec(req.headers.authorization ?? '');
    if (!match) {
      return res.status(401).send('Unauthorized');
    }
    req.user = { id: match[1], role: 'USER' };
    next();
  });
  return { requireJwtAuth };
});

const host = mockUserModelsHost(jest, { loaders: true });
const { layout, modelLoaders, userKeys } = host;

const dns = require('dns');
const { httpClient } = require('~/server/services/Config/userModelsFetch');
const express = require('express');
const request = require('supertest');
const { CacheKeys } = require('librechat-data-provider');
const { requireJwtAuth } = require('~/server/middleware');
const { _resetUserModelsState } = require('~/server/services/Config/userModels');

const KEY_ALICE = 'sk-alice-SECRET-aaaa';
const KEY_ALICE_NEW = 'sk-alice-SECRET-bbbb';
const KEY_BOB = 'sk-bob-SECRET-cccc';
const KEY_REVOKED = 'sk-revoked-SECRET-dddd';
const ALL_KEYS = [KEY_ALICE, KEY_ALICE_NEW, KEY_BOB, KEY_REVOKED];

const appConfig = {
  endpoints: {
    custom: [
      endpoints.liteLLM,
      endpoints.myProxy,
      endpoints.static,
    ],
  },
};

const shared = {
  openAI: ['gpt-4o'],
  LiteLLM: ['gpt-4o-mini'],
  MyProxy: ['proxy-default'],
  Static: ['static-1'],
};

const upstreamLists = {
  [KEY_ALICE]: ['alice-1', 'alice-2'],
  [KEY_ALICE_NEW]: ['alice-new'],
  [KEY_BOB]: ['bob-1'],
};

let app;

beforeAll(() => {
  app = express();
  app.use(express.json());
  app.use('/api/models', require('../models'));
  app.use('/api/keys', require('../keys'));
});

beforeEach(async () => {
  jest.useRealTimers();
  _resetUserModelsState();
  await host.reset();
  host.setAppConfig(appConfig);
  modelLoaders.loadDefaultModels.mockResolvedValue({ openAI: shared.openAI });
  modelLoaders.loadConfigModels.mockResolvedValue({
    LiteLLM: shared.LiteLLM,
    MyProxy: shared.MyProxy,
    Static: shared.Static,
  });
  jest.spyOn(dns.promises, 'lookup').mockResolvedValue([{ address: '93.184.216.34', family: 4 }]);
  jest.spyOn(httpClient, 'get').mockImplementation(async (url, config) => {
    const key = config.headers.Authorization.replace('Bearer ', '');
    if (!upstreamLists[key]) {
      const error = new Error('Request failed with status code 401');
      error.response = { status: 401, data: { error: `bad key ${key}` } };
      throw error;
    }
    return { status: 200, data: { data: upstreamLists[key].map((id) => ({ id })) } };
  });
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
  host.expectNoneLogged(ALL_KEYS); // no logger call ever carries a key
});

const as = (user) => ({
  post: (path, body) =>
    request(app)
      .post(path)
      .set('Authorization', `Bearer ${user}`)
      .send(body ?? {}),
  get: (path) => request(app).get(path).set('Authorization', `Bearer ${user}`),
  put: (path, body) => request(app).put(path).set('Authorization', `Bearer ${user}`).send(body),
  delete: (path) => request(app).delete(path).set('Authorization', `Bearer ${user}`),
});

const saveKey = (user, name, values) =>
  as(user).put('/api/keys', { name, value: JSON.stringify(values), expiresAt: '' });

const expectNoKeyIn = (res) => {
  const text = JSON.stringify({ body: res.body, headers: res.headers, text: res.text });
  for (const key of ALL_KEYS) {
    expect(text).not.toContain(key);
  }
};

describe('POST /api/models/fetch', () => {
  it('requires JWT auth', async () => {
    const res = await request(app).post('/api/models/fetch').send({});
    expect(res.status).toBe(401);
    expect(requireJwtAuth).toHaveBeenCalled();
    expect(httpClient.get).not.toHaveBeenCalled();
  });

  it('answers the full models config and a state per dynamic endpoint', async () => {
    host.saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    const res = await as('alice').post('/api/models/fetch');
    expect(res.status).toBe(200);
    expect(res.body.models).toEqual({ ...shared, LiteLLM: ['alice-1', 'alice-2'] });
    expect(res.body.dynamic).toEqual({
      LiteLLM: { source: 'user', fetchedAt: expect.any(Number) },
      MyProxy: { source: 'default', fetchedAt: null },
    });
    expectNoKeyIn(res);
  });

  it('reports per-endpoint errors and falls back to the defaults', async () => {
    host.saveKey('bob', 'LiteLLM', { apiKey: KEY_REVOKED });
    host.saveKey('bob', 'MyProxy', { apiKey: KEY_BOB, baseURL: 'https://169.254.169.254/v1' });
    const res = await as('bob').post('/api/models/fetch', {});
    expect(res.status).toBe(200);
    expect(res.body.models.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(res.body.models.MyProxy).toEqual(['proxy-default']);
    expect(res.body.dynamic.LiteLLM).toEqual({
      source: 'default',
      fetchedAt: expect.any(Number),
      error: 'unauthorized',
    });
    expect(res.body.dynamic.MyProxy).toEqual({
      source: 'default',
      fetchedAt: expect.any(Number),
      error: 'blocked_url',
    });
    expectNoKeyIn(res);
  });

  it('without force refetches only lists older than 5 minutes', async () => {
    jest.useFakeTimers({
      now: new Date('2026-03-10T00:00:00Z'),
      doNotFake: ['setImmediate', 'nextTick'],
    });
    host.saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    await as('alice').post('/api/models/fetch', { endpoint: 'LiteLLM' });
    await as('alice').post('/api/models/fetch', { endpoint: 'LiteLLM' });
    expect(httpClient.get).toHaveBeenCalledTimes(1);
    jest.setSystemTime(Date.now() + 5 * 60 * 1000 + 1000);
    await as('alice').post('/api/models/fetch', { endpoint: 'LiteLLM' });
    expect(httpClient.get).toHaveBeenCalledTimes(2);
  });

  it('with force refetches now, at most once per endpoint every 10 s (429)', async () => {
    jest.useFakeTimers({
      now: new Date('2026-03-10T00:00:00Z'),
      doNotFake: ['setImmediate', 'nextTick'],
    });
    host.saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    await as('alice').post('/api/models/fetch', { endpoint: 'LiteLLM' });
    expect(httpClient.get).toHaveBeenCalledTimes(1);

    const forced = await as('alice').post('/api/models/fetch', {
      endpoint: 'LiteLLM',
      force: true,
    });
    expect(forced.status).toBe(200);
    expect(httpClient.get).toHaveBeenCalledTimes(2);

    jest.setSystemTime(Date.now() + 4000);
    const limited = await as('alice').post('/api/models/fetch', {
      endpoint: 'LiteLLM',
      force: true,
    });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: 'rate_limited', retryAfter: 6 });
    expect(limited.headers['retry-after']).toBe('6');
    expect(httpClient.get).toHaveBeenCalledTimes(2);

    // another user and another endpoint are not limited
    expect(
      (await as('bob').post('/api/models/fetch', { endpoint: 'LiteLLM', force: true })).status,
    ).toBe(200);
    expect(
      (await as('alice').post('/api/models/fetch', { endpoint: 'MyProxy', force: true })).status,
    ).toBe(200);

    jest.setSystemTime(Date.now() + 6000);
    const again = await as('alice').post('/api/models/fetch', { endpoint: 'LiteLLM', force: true });
    expect(again.status).toBe(200);
    expect(httpClient.get).toHaveBeenCalledTimes(3);
  });

  it.each([['Nope'], ['Static'], ['openAI'], [42]])(
    'answers 400 for an unknown or non-dynamic endpoint: %s',
    async (endpoint) => {
      const res = await as('alice').post('/api/models/fetch', { endpoint });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'unknown_endpoint' });
    },
  );
});

describe('GET /api/models', () => {
  it('answers each user’s own lists; what is shared holds only defaults', async () => {
    host.saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    host.saveKey('bob', 'LiteLLM', { apiKey: KEY_BOB });
    const alice = await as('alice').get('/api/models');
    const bob = await as('bob').get('/api/models');
    const carol = await as('carol').get('/api/models');
    expect(alice.body.LiteLLM).toEqual(['alice-1', 'alice-2']);
    expect(bob.body.LiteLLM).toEqual(['bob-1']);
    expect(carol.body).toEqual(shared);
    if (layout.native) {
      // the native loader reads no user key: the lists come from the per-user cache
      expect(userKeys.getUserKeyValues).not.toHaveBeenCalled();
    } else {
      const cached = await host.getLogStores(CacheKeys.CONFIG_STORE).get(CacheKeys.MODELS_CONFIG);
      expect(cached).toEqual(shared);
    }
  });

  it('does not refetch on every request: six concurrent requests, one upstream fetch', async () => {
    host.saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => as('alice').get('/api/models')),
    );
    for (const res of answers) {
      expect(res.body.LiteLLM).toEqual(['alice-1', 'alice-2']);
    }
    await as('alice').get('/api/models');
    expect(httpClient.get).toHaveBeenCalledTimes(1);
  });
});

describe('key changes invalidate the cached lists', () => {
  it('PUT /api/keys drops the user’s list for that endpoint', async () => {
    expect((await saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE })).status).toBe(201);
    expect((await as('alice').get('/api/models')).body.LiteLLM).toEqual(['alice-1', 'alice-2']);

    await saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE_NEW });
    expect((await as('alice').get('/api/models')).body.LiteLLM).toEqual(['alice-new']);
  });

  it('DELETE /api/keys/:name brings the defaults back', async () => {
    await saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    expect((await as('alice').get('/api/models')).body.LiteLLM).toEqual(['alice-1', 'alice-2']);
    expect((await as('alice').delete('/api/keys/LiteLLM')).status).toBe(204);
    expect((await as('alice').get('/api/models')).body.LiteLLM).toEqual(['gpt-4o-mini']);
  });

  it('DELETE /api/keys?all=true brings the defaults back for every endpoint', async () => {
    await saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    await saveKey('alice', 'MyProxy', { apiKey: KEY_BOB, baseURL: 'https://proxy.example.org' });
    const before = (await as('alice').get('/api/models')).body;
    expect(before.LiteLLM).toEqual(['alice-1', 'alice-2']);
    expect(before.MyProxy).toEqual(['bob-1']);

    expect((await as('alice').delete('/api/keys?all=true')).status).toBe(204);
    const after = (await as('alice').get('/api/models')).body;
    expect(after.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(after.MyProxy).toEqual(['proxy-default']);
  });

  it('POST /api/models/fetch says when the user’s key of an endpoint last changed', async () => {
    const before = Date.now();
    await saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    const { dynamic } = (await as('alice').post('/api/models/fetch')).body;
    expect(dynamic.LiteLLM).toEqual({
      source: 'user',
      fetchedAt: expect.any(Number),
      keyChangedAt: expect.any(Number),
    });
    expect(dynamic.LiteLLM.keyChangedAt).toBeGreaterThanOrEqual(before);
    expect(dynamic.MyProxy).toEqual({ source: 'default', fetchedAt: null });
    /** Another user's answer has none */
    expect((await as('bob').post('/api/models/fetch')).body.dynamic.LiteLLM).not.toHaveProperty(
      'keyChangedAt',
    );
  });

  it('a key change by one user leaves another user’s list alone', async () => {
    await saveKey('alice', 'LiteLLM', { apiKey: KEY_ALICE });
    await saveKey('bob', 'LiteLLM', { apiKey: KEY_BOB });
    await as('bob').get('/api/models');
    await as('alice').delete('/api/keys/LiteLLM');
    httpClient.get.mockClear();
    expect((await as('bob').get('/api/models')).body.LiteLLM).toEqual(['bob-1']);
    expect(httpClient.get).not.toHaveBeenCalled();
  });
});

describe('PUT /api/keys stores a key for the caller only', () => {
  it('ignores a userId in the body (no key, and no model list, for another user)', async () => {
    const res = await as('mallory').put('/api/keys', {
      name: 'LiteLLM',
      value: JSON.stringify({ apiKey: KEY_BOB }),
      expiresAt: '',
      userId: 'alice',
    });
    expect(res.status).toBe(201);
    expect(userKeys.updateUserKey).toHaveBeenCalledTimes(1);
    expect(userKeys.updateUserKey.mock.calls[0][0]).toMatchObject({ userId: 'mallory' });
    expect(host.hasKey('alice', 'LiteLLM')).toBe(false);
    expect((await as('alice').get('/api/models')).body.LiteLLM).toEqual(['gpt-4o-mini']);
    expect((await as('mallory').get('/api/models')).body.LiteLLM).toEqual(['bob-1']);
  });
});
