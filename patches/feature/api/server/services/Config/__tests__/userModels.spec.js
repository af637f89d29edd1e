/** A valid AES-256 key (api/test/jestSetup.js sets 'test') for the encrypted config secret test */
process.env.CREDS_KEY = 'c3301ad2f69681295e022fb135e92787afb6ecfeaa012a10f8bb4ddf6b669e6d';

const { mockUserModelsHost, endpoints } = require('~/test/userModelsHost');

const host = mockUserModelsHost(jest);
const { layout, userKeys, getAppConfig, saveKey } = host;
const { getUserKey, getUserKeyExpiry } = userKeys;

const dns = require('dns');
const { httpClient } = require('../userModelsFetch');
const compat = require('../userModelsCompat');
const {
  isDynamicEndpoint,
  getDynamicEndpoints,
  resolveEndpointModels,
  overlayUserModels,
  overlayUserModelsWithState,
  invalidateUserModels,
  takeForceSlot,
  _resetUserModelsState,
} = require('../userModels');

/** `@librechat/api` of this release (none before v0.7.9) */
const librechatApi = (() => {
  try {
    return require('@librechat/api');
  } catch {
    return {};
  }
})();
/** v0.8.8+: encrypted config secrets and unresolved header placeholders stripped */
const since088 = typeof librechatApi.resolveConfigSecret === 'function';
const itOn = (condition) => (condition ? it : it.skip);

const KEY_A = 'sk-user-a-SECRET-0001';
const KEY_B = 'sk-user-b-SECRET-0002';
const KEY_BAD = 'sk-revoked-SECRET-0003';
const ALL_KEYS = [KEY_A, KEY_B, KEY_BAD];

const appConfig = {
  endpoints: {
    custom: [
      { ...endpoints.liteLLM, headers: { 'X-Org': 'org-1' } },
      { ...endpoints.myProxy, headers: { 'X-Admin-Secret': 'admin-header' } },
      endpoints.static,
      {
        name: 'Shared',
        apiKey: 'sk-admin',
        baseURL: 'https://shared.example.com/v1',
        models: { default: ['shared-1'], fetch: true },
      },
    ],
  },
};

const sharedConfig = Object.freeze({
  openAI: Object.freeze(['gpt-4o']),
  LiteLLM: Object.freeze(['gpt-4o-mini']),
  MyProxy: Object.freeze(['proxy-default']),
  Static: Object.freeze(['static-1']),
  Shared: Object.freeze(['shared-1']),
});

/** apiKey -> models or an error status */
let upstream;

const reqFor = (id) => ({ user: { id, role: 'USER' } });

const httpError = (status, data) => {
  const error = new Error(`Request failed with status code ${status}`);
  error.response = { status, data, headers: {} };
  error.config = { headers: { Authorization: 'Bearer redacted' } };
  return error;
};

const upstreamAnswer = (url, config) => {
  const apiKey = config.headers.Authorization.replace('Bearer ', '');
  const answer = upstream[apiKey];
  if (answer === undefined) {
    return Promise.reject(httpError(404, 'not found'));
  }
  if (typeof answer === 'number') {
    // providers sometimes echo the presented key in the error body
    return Promise.reject(httpError(answer, { error: `invalid key ${apiKey}` }));
  }
  if (answer instanceof Promise) {
    return answer;
  }
  return Promise.resolve({ status: 200, data: { data: answer.map((id) => ({ id })) } });
};

beforeEach(async () => {
  _resetUserModelsState();
  await host.reset();
  upstream = {
    [KEY_A]: ['model-a1', 'model-a2'],
    [KEY_B]: ['model-b1'],
    [KEY_BAD]: 401,
  };
  delete process.env.DYNAMIC_MODELS_TTL;
  delete process.env.DYNAMIC_MODELS_ALLOWED_HOSTS;
  host.setAppConfig(appConfig);
  jest.spyOn(httpClient, 'get').mockImplementation(upstreamAnswer);
  jest.spyOn(dns.promises, 'lookup').mockImplementation(async (hostname) => {
    if (hostname === 'internal.example.com') {
      return [{ address: '10.0.0.7', family: 4 }];
    }
    return [{ address: '93.184.216.34', family: 4 }];
  });
});

afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
  host.expectNoneLogged(ALL_KEYS); // no logger call ever carries a key
});

/** Lets background work (key read, fetch, cache write) run */
const settle = async () => {
  for (let i = 0; i < 30; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
};

describe('getDynamicEndpoints', () => {
  it('selects custom endpoints with models.fetch and a user-provided key or URL', () => {
    const endpoints = getDynamicEndpoints(appConfig);
    expect(endpoints.map((e) => e.name)).toEqual(['LiteLLM', 'MyProxy']);
    expect(endpoints[0]).toMatchObject({
      userProvidesKey: true,
      userProvidesURL: false,
      defaults: ['gpt-4o-mini'],
    });
    expect(endpoints[1]).toMatchObject({ userProvidesKey: true, userProvidesURL: true });
  });

  it('normalizes names like loadConfigModels and ignores incomplete entries', () => {
    const endpoints = getDynamicEndpoints({
      endpoints: {
        custom: [
          { name: 'Ollama', apiKey: 'user_provided', baseURL: 'x', models: { fetch: true } },
          { name: 'NoURL', apiKey: 'user_provided', models: { fetch: true } },
        ],
      },
    });
    expect(endpoints.map((e) => e.name)).toEqual([compat.normalizeEndpointName('Ollama')]);
    expect(getDynamicEndpoints(undefined)).toEqual([]);
  });

  it('isDynamicEndpoint needs models.fetch (as the native loader) and a user-provided value', () => {
    expect(isDynamicEndpoint({ apiKey: 'user_provided', models: { fetch: false } })).toBe(false);
    expect(isDynamicEndpoint({ baseURL: 'user_provided', models: { fetch: true } })).toBe(true);
    expect(
      isDynamicEndpoint({ apiKey: 'sk-x', baseURL: 'https://x', models: { fetch: true } }),
    ).toBe(false);
  });
});

describe('overlayUserModels', () => {
  it('fetches on a cache miss and serves the cache on a hit (no upstream call, no key read)', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });

    const first = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(first.LiteLLM).toEqual(['model-a1', 'model-a2']);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
    expect(httpClient.get.mock.calls[0][0]).toBe('https://litellm.example.com/v1/models');
    expect(httpClient.get.mock.calls[0][1].headers).toEqual({
      'X-Org': 'org-1',
      Authorization: `Bearer ${KEY_A}`,
    });

    getUserKey.mockClear();
    getUserKeyExpiry.mockClear();
    const second = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(second.LiteLLM).toEqual(['model-a1', 'model-a2']);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
    expect(getUserKey).not.toHaveBeenCalled();
  });

  it('drops a list after DYNAMIC_MODELS_TTL: the next request waits for a new one', async () => {
    jest.useFakeTimers({ now: new Date('2026-03-10T00:00:00Z') });
    process.env.DYNAMIC_MODELS_TTL = '3600';
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });

    await overlayUserModels(reqFor('u1'), sharedConfig);
    upstream[KEY_A] = ['model-a3'];
    jest.setSystemTime(Date.now() + 3601 * 1000);
    const after = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(httpClient.get).toHaveBeenCalledTimes(2);
    expect(after.LiteLLM).toEqual(['model-a3']);
  });

  it('gives two users with different keys their own lists and never mutates the shared config', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    saveKey('u2', 'LiteLLM', { apiKey: KEY_B });
    const snapshot = JSON.stringify(sharedConfig);

    const a = await overlayUserModels(reqFor('u1'), sharedConfig);
    const b = await overlayUserModels(reqFor('u2'), sharedConfig);
    const c = await overlayUserModels(reqFor('u3'), sharedConfig);

    expect(a.LiteLLM).toEqual(['model-a1', 'model-a2']);
    expect(b.LiteLLM).toEqual(['model-b1']);
    expect(c.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(a).not.toBe(sharedConfig);
    expect(a.openAI).toEqual(['gpt-4o']);
    expect(a.Static).toEqual(['static-1']);
    expect(JSON.stringify(sharedConfig)).toBe(snapshot);
  });

  it('returns the shared object untouched without a user or without dynamic endpoints', async () => {
    expect(await overlayUserModels({}, sharedConfig)).toBe(sharedConfig);
    getAppConfig.mockResolvedValue({ endpoints: { custom: [appConfig.endpoints.custom[2]] } });
    expect(await overlayUserModels(reqFor('u1'), sharedConfig)).toBe(sharedConfig);
  });

  it('makes one upstream call for concurrent requests with the same key', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    let release;
    upstream[KEY_A] = new Promise((resolve) => {
      release = () => resolve({ status: 200, data: { data: [{ id: 'slow-model' }] } });
    });

    const requests = Array.from({ length: 6 }, () => overlayUserModels(reqFor('u1'), sharedConfig));
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const results = await Promise.all(requests);

    expect(httpClient.get).toHaveBeenCalledTimes(1);
    for (const result of results) {
      expect(result.LiteLLM).toEqual(['slow-model']);
    }
  });

  it('falls back to the defaults on failure, does not retry within 60 s, retries after', async () => {
    jest.useFakeTimers({ now: new Date('2026-03-10T00:00:00Z') });
    saveKey('u1', 'LiteLLM', { apiKey: KEY_BAD });

    const first = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(first.models.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(first.dynamic.LiteLLM).toEqual({
      source: 'default',
      fetchedAt: Date.now(),
      error: 'unauthorized',
    });

    jest.setSystemTime(Date.now() + 59 * 1000);
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await resolveEndpointModels(reqFor('u1'), getDynamicEndpoints(appConfig)[0], 'refresh');
    expect(httpClient.get).toHaveBeenCalledTimes(1);

    upstream[KEY_BAD] = ['recovered'];
    jest.setSystemTime(Date.now() + 2 * 1000);
    const later = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(httpClient.get).toHaveBeenCalledTimes(2);
    expect(later.LiteLLM).toEqual(['recovered']);
  });

  it('uses the defaults without an upstream call when no key or an expired key is saved', async () => {
    saveKey('u2', 'LiteLLM', { apiKey: KEY_B }, new Date(Date.now() - 1000).toISOString());

    const none = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    const expired = await overlayUserModelsWithState(reqFor('u2'), sharedConfig);

    expect(none.dynamic.LiteLLM).toEqual({ source: 'default', fetchedAt: null });
    expect(expired.dynamic.LiteLLM).toEqual({ source: 'default', fetchedAt: null });
    expect(expired.models.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(httpClient.get).not.toHaveBeenCalled();
  });

  it('treats a key that expires later as gone once it has expired, without a database read', async () => {
    jest.useFakeTimers({ now: new Date('2026-03-10T00:00:00Z') });
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A }, new Date(Date.now() + 60 * 1000).toISOString());
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual([
      'model-a1',
      'model-a2',
    ]);
    jest.setSystemTime(Date.now() + 61 * 1000);
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(['gpt-4o-mini']);
  });

  it('treats a saved value that is not JSON as no key and does not log it', async () => {
    host.saveRawKey('u1', 'LiteLLM', KEY_A);
    const result = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(result.dynamic.LiteLLM).toEqual({ source: 'default', fetchedAt: null });
    expect(httpClient.get).not.toHaveBeenCalled();
  });

  it('does not send configured headers to a user-provided base URL', async () => {
    saveKey('u1', 'MyProxy', { apiKey: KEY_A, baseURL: 'https://proxy.example.org/v1/' });
    const result = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(result.MyProxy).toEqual(['model-a1', 'model-a2']);
    const [url, config] = httpClient.get.mock.calls[0];
    expect(url).toBe('https://proxy.example.org/v1/models');
    expect(config.headers).toEqual({ Authorization: `Bearer ${KEY_A}` });
    expect(config.maxRedirects).toBe(0);
  });

  it('never sends the admin key to a user-provided base URL', async () => {
    const custom = appConfig.endpoints.custom.map((endpoint) =>
      endpoint.name === 'MyProxy' ? { ...endpoint, apiKey: 'sk-admin-SECRET' } : endpoint,
    );
    getAppConfig.mockResolvedValue({ ...appConfig, endpoints: { ...appConfig.endpoints, custom } });
    saveKey('u1', 'MyProxy', { baseURL: 'https://proxy.example.org/v1' });
    const none = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(none.dynamic.MyProxy).toEqual({ source: 'default', fetchedAt: null });
    expect(httpClient.get).not.toHaveBeenCalled();
    saveKey('u2', 'MyProxy', { apiKey: KEY_A, baseURL: 'https://proxy.example.org/v1' });
    expect((await overlayUserModels(reqFor('u2'), sharedConfig)).MyProxy).toEqual([
      'model-a1',
      'model-a2',
    ]);
    expect(httpClient.get.mock.calls[0][1].headers).toEqual({ Authorization: `Bearer ${KEY_A}` });
  });

  it.each([
    ['loopback', 'https://127.0.0.1/v1'],
    ['private 10.x', 'https://10.1.2.3/v1'],
    ['metadata', 'https://169.254.169.254/latest'],
    ['localhost', 'http://localhost:11434/v1'],
    ['IPv6 loopback', 'http://[::1]:8000/v1'],
    ['not http(s)', 'ftp://proxy.example.org/v1'],
    ['plain http', 'http://proxy.example.org/v1'],
    ['a host resolving to a private address', 'https://internal.example.com/v1'],
    ['credentials in the URL', 'https://user:pass@proxy.example.org/v1'],
  ])('refuses a user-provided base URL: %s', async (_label, baseURL) => {
    saveKey('u1', 'MyProxy', { apiKey: KEY_A, baseURL });
    const result = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(result.dynamic.MyProxy).toMatchObject({ source: 'default', error: 'blocked_url' });
    expect(result.models.MyProxy).toEqual(['proxy-default']);
    expect(httpClient.get).not.toHaveBeenCalled();
  });

  it('connects a user-provided base URL by its checked address (pinned agent), no proxy', async () => {
    saveKey('u1', 'MyProxy', { apiKey: KEY_A, baseURL: 'https://proxy.example.org/v1' });
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).MyProxy).toEqual([
      'model-a1',
      'model-a2',
    ]);
    const [, config] = httpClient.get.mock.calls[0];
    expect(config.proxy).toBe(false);
    expect(config.httpsAgent).toBeDefined();
    const pinned = await new Promise((resolve, reject) =>
      config.httpsAgent.options.lookup('proxy.example.org', {}, (error, address) =>
        error ? reject(error) : resolve(address),
      ),
    );
    expect(pinned).toBe('93.184.216.34');
  });

  it('allows a private address listed in endpoints.allowedAddresses', async () => {
    getAppConfig.mockResolvedValue({
      endpoints: { ...appConfig.endpoints, allowedAddresses: ['10.0.0.5:8000'] },
    });
    saveKey('u1', 'MyProxy', { apiKey: KEY_A, baseURL: 'http://10.0.0.5:8000/v1' });
    saveKey('u2', 'MyProxy', { apiKey: KEY_B, baseURL: 'http://10.0.0.5:9000/v1' });
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).MyProxy).toEqual([
      'model-a1',
      'model-a2',
    ]);
    const other = await overlayUserModelsWithState(reqFor('u2'), sharedConfig);
    expect(other.dynamic.MyProxy).toMatchObject({ source: 'default', error: 'blocked_url' });
  });

  it('takes an address policy change into account at once (no stale cached list)', async () => {
    saveKey('u1', 'MyProxy', { apiKey: KEY_A, baseURL: 'http://10.0.0.5:8000/v1' });
    expect(
      (await overlayUserModelsWithState(reqFor('u1'), sharedConfig)).dynamic.MyProxy,
    ).toMatchObject({ error: 'blocked_url' });
    getAppConfig.mockResolvedValue({
      endpoints: { ...appConfig.endpoints, allowedAddresses: ['10.0.0.5:8000'] },
    });
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).MyProxy).toEqual([
      'model-a1',
      'model-a2',
    ]);
  });

  it('allows hosts listed in DYNAMIC_MODELS_ALLOWED_HOSTS (alias of allowedAddresses)', async () => {
    process.env.DYNAMIC_MODELS_ALLOWED_HOSTS = 'localhost:11434, 10.0.0.7:8080';
    saveKey('u1', 'MyProxy', { apiKey: KEY_A, baseURL: 'http://localhost:11434/v1' });
    saveKey('u2', 'MyProxy', { apiKey: KEY_B, baseURL: 'http://10.0.0.7:8080/v1' });
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).MyProxy).toEqual([
      'model-a1',
      'model-a2',
    ]);
    expect((await overlayUserModels(reqFor('u2'), sharedConfig)).MyProxy).toEqual(['model-b1']);
  });

  it('trusts an admin-configured base URL (no address check)', async () => {
    dns.promises.lookup.mockResolvedValue([{ address: '10.0.0.9', family: 4 }]);
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual([
      'model-a1',
      'model-a2',
    ]);
    expect(dns.promises.lookup).not.toHaveBeenCalled();
  });

  itOn(layout.native)(
    'uses req.config when the request carries it (as the native loader)',
    async () => {
      saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
      getAppConfig.mockRejectedValue(new Error('not used'));
      const req = { ...reqFor('u1'), config: appConfig };
      expect((await overlayUserModels(req, sharedConfig)).LiteLLM).toEqual([
        'model-a1',
        'model-a2',
      ]);
      expect(getAppConfig).not.toHaveBeenCalled();
    },
  );

  it('asks for the app config of the user’s role (and, natively, of the user and tenant)', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    const req = { user: { id: 'u1', role: 'USER', tenantId: 't1', idOnTheSource: 'src-1' } };
    await overlayUserModels(req, sharedConfig);
    if (layout.native) {
      expect(getAppConfig).toHaveBeenCalledWith(
        expect.objectContaining({ role: 'USER', userId: 'u1', tenantId: 't1' }),
      );
    } else if (layout.appConfigModule.endsWith('/app')) {
      expect(getAppConfig).toHaveBeenCalledWith({ role: 'USER' });
    } else {
      // v0.7.x: one librechat.yaml for everyone
      expect(getAppConfig).toHaveBeenCalled();
    }
  });

  itOn(since088)('never sends an encrypted admin key to a user-provided base URL', async () => {
    const { encryptV3 } = jest.requireActual('@librechat/data-schemas');
    getAppConfig.mockResolvedValue({
      endpoints: {
        custom: [
          {
            name: 'AdminKeyProxy',
            apiKey: encryptV3(KEY_B),
            baseURL: 'user_provided',
            models: { default: ['akp-default'], fetch: true },
          },
        ],
      },
    });
    saveKey('u1', 'AdminKeyProxy', { baseURL: 'https://proxy.example.org/v1' });
    const keyless = await overlayUserModels(reqFor('u1'), { AdminKeyProxy: ['akp-default'] });
    expect(keyless.AdminKeyProxy).toEqual(['akp-default']);
    expect(httpClient.get).not.toHaveBeenCalled();
    saveKey('u2', 'AdminKeyProxy', { apiKey: KEY_A, baseURL: 'https://proxy.example.org/v1' });
    const result = await overlayUserModels(reqFor('u2'), { AdminKeyProxy: ['akp-default'] });
    expect(result.AdminKeyProxy).toEqual(['model-a1', 'model-a2']);
    expect(httpClient.get.mock.calls[0][1].headers).toEqual({ Authorization: `Bearer ${KEY_A}` });
  });

  itOn(since088)(
    'strips configured header placeholders left unresolved, as fetchModels does',
    async () => {
      getAppConfig.mockResolvedValue({
        endpoints: {
          custom: [
            {
              ...appConfig.endpoints.custom[0],
              headers: { 'X-Org': 'org-1', 'X-Conversation': '{{LIBRECHAT_BODY_CONVERSATIONID}}' },
            },
          ],
        },
      });
      saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
      await overlayUserModels(reqFor('u1'), sharedConfig);
      const [, config] = httpClient.get.mock.calls[0];
      expect(config.headers['X-Org']).toBe('org-1');
      expect(config.headers['X-Conversation']).toBe('');
    },
  );

  itOn(layout.native)('stores pricing data under the user-scoped token config key', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    httpClient.get.mockImplementationOnce(async () => ({
      status: 200,
      data: {
        data: [
          {
            id: 'priced',
            pricing: { prompt: '0.000001', completion: '0.000002' },
            context_length: 8192,
          },
        ],
      },
    }));
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(['priced']);
    expect(await librechatApi.tokenConfigCache().get('LiteLLM:u1')).toMatchObject({
      priced: { prompt: 1, completion: 2, context: 8192 },
    });
  });

  it('falls back to the defaults when the key store fails', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    getUserKeyExpiry.mockRejectedValue(new Error(`db down ${KEY_A}`));
    const result = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(result.models.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(result.dynamic.LiteLLM).toEqual({ source: 'default', fetchedAt: null });
  });
});

describe('models.include and models.exclude', () => {
  const withFilters = (name, filters) => ({
    ...appConfig,
    endpoints: {
      ...appConfig.endpoints,
      custom: appConfig.endpoints.custom.map((endpoint) =>
        endpoint.name === name
          ? { ...endpoint, models: { ...endpoint.models, ...filters } }
          : endpoint,
      ),
    },
  });

  beforeEach(() => {
    upstream[KEY_A] = ['gpt-4o', 'gpt-4o-mini', 'text-embedding-3-small', 'dall-e-3', 'o1'];
  });

  it('narrows the user’s fetched list before it is cached: include, then exclude', async () => {
    host.setAppConfig(
      withFilters('LiteLLM', { include: ['gpt-*', '/^(dall|text)-/'], exclude: ['*embedding*'] }),
    );
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    const first = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(first.models.LiteLLM).toEqual(['gpt-4o', 'gpt-4o-mini', 'dall-e-3']);
    expect(first.dynamic.LiteLLM.source).toBe('user');

    const second = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(second.LiteLLM).toEqual(['gpt-4o', 'gpt-4o-mini', 'dall-e-3']);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
  });

  it('shows the defaults, unfiltered, when the filters keep none of the fetched models', async () => {
    host.setAppConfig(withFilters('LiteLLM', { include: ['claude-*'], exclude: ['gpt-4o-mini'] }));
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    const result = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(result.models.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(result.dynamic.LiteLLM).toMatchObject({ source: 'default', error: 'filtered_out' });
    const none = await overlayUserModelsWithState(reqFor('u2'), sharedConfig);
    expect(none.models.LiteLLM).toEqual(['gpt-4o-mini']);
  });

  it('refetches at once when the filters change (no list cached under the old ones)', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    host.setAppConfig(withFilters('LiteLLM', { exclude: ['o1'] }));
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toContain('gpt-4o');
    host.setAppConfig(withFilters('LiteLLM', { exclude: ['gpt-*'] }));
    const after = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(after.LiteLLM).toEqual(['text-embedding-3-small', 'dall-e-3', 'o1']);
    expect(httpClient.get).toHaveBeenCalledTimes(2);
  });

  it('narrows the shared list of an admin-key endpoint; its defaults are never filtered', async () => {
    host.setAppConfig(withFilters('Shared', { exclude: ['*embedding*', 'shared-1'] }));
    const fetched = { ...sharedConfig, Shared: ['shared-2', 'text-embedding-3-small'] };
    expect((await overlayUserModels(reqFor('u1'), fetched)).Shared).toEqual(['shared-2']);
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).Shared).toEqual(['shared-1']);
    const allDropped = { ...sharedConfig, Shared: ['text-embedding-3-small'] };
    expect((await overlayUserModels(reqFor('u1'), allDropped)).Shared).toEqual(['shared-1']);
    expect(fetched.Shared).toEqual(['shared-2', 'text-embedding-3-small']);
  });

  it('ignores values that are not lists of strings', async () => {
    host.setAppConfig(withFilters('LiteLLM', { include: 'gpt-*', exclude: [42, 'o1'] }));
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual([
      'gpt-4o',
      'gpt-4o-mini',
      'text-embedding-3-small',
      'dall-e-3',
    ]);
  });
});

describe('background refresh', () => {
  let now;
  const slowAnswer = (ids) => {
    let release;
    const promise = new Promise((resolve) => {
      release = () => resolve({ status: 200, data: { data: ids.map((id) => ({ id })) } });
    });
    return { promise, release };
  };

  beforeEach(async () => {
    now = Date.parse('2026-03-10T00:00:00Z');
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
  });

  it('serves a list past the 5-minute max-age at once and refreshes it behind the request, once', async () => {
    const slow = slowAnswer(['model-a3']);
    upstream[KEY_A] = slow.promise;
    now += 5 * 60 * 1000 + 1;

    const served = await Promise.all(
      Array.from({ length: 5 }, () => overlayUserModelsWithState(reqFor('u1'), sharedConfig)),
    );
    for (const result of served) {
      expect(result.models.LiteLLM).toEqual(['model-a1', 'model-a2']);
    }
    await settle();
    await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(httpClient.get).toHaveBeenCalledTimes(2);

    slow.release();
    await settle();
    const after = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(after.models.LiteLLM).toEqual(['model-a3']);
    expect(after.dynamic.LiteLLM).toEqual({ source: 'user', fetchedAt: now });
    expect(httpClient.get).toHaveBeenCalledTimes(2);
  });

  it('keeps the previous list when the refresh fails, shows the error, retries after 60 s', async () => {
    const listedAt = now;
    upstream[KEY_A] = 401;
    now += 5 * 60 * 1000 + 1;
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await settle();
    const failed = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(failed.models.LiteLLM).toEqual(['model-a1', 'model-a2']);
    expect(failed.dynamic.LiteLLM).toEqual({
      source: 'user',
      fetchedAt: listedAt,
      error: 'unauthorized',
    });
    expect(httpClient.get).toHaveBeenCalledTimes(2);

    now += 59 * 1000;
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await resolveEndpointModels(reqFor('u1'), getDynamicEndpoints(appConfig)[0], 'refresh');
    await settle();
    expect(httpClient.get).toHaveBeenCalledTimes(2);

    upstream[KEY_A] = ['model-a4'];
    now += 2 * 1000;
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await settle();
    expect(httpClient.get).toHaveBeenCalledTimes(3);
    const recovered = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(recovered.models.LiteLLM).toEqual(['model-a4']);
    expect(recovered.dynamic.LiteLLM).toEqual({ source: 'user', fetchedAt: now });
  });

  it('drops a list whose key changed without an invalidation at its first refresh', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_B }); // e.g. the invalidation was lost
    now += 5 * 60 * 1000 + 1;
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual([
      'model-a1',
      'model-a2',
    ]);
    await settle();
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(['model-b1']);

    await host.userKeys.deleteUserKey({ userId: 'u1', name: 'LiteLLM' });
    now += 5 * 60 * 1000 + 1;
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await settle();
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(['gpt-4o-mini']);
  });

  it('stores nothing from a refresh whose key was revoked while it ran', async () => {
    const slow = slowAnswer(['model-a3']);
    upstream[KEY_A] = slow.promise;
    now += 5 * 60 * 1000 + 1;
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await settle();
    await host.userKeys.deleteUserKey({ userId: 'u1', name: 'LiteLLM' });
    await invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });
    slow.release();
    await settle();
    const after = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(after.models.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(after.dynamic.LiteLLM).toEqual({ source: 'default', fetchedAt: null });
  });
});

describe('cache contents', () => {
  it('keys entries by user, endpoint and a sha256 digest; never stores the key', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    saveKey('u1', 'MyProxy', { apiKey: KEY_B, baseURL: 'https://proxy.example.org/v1' });
    await overlayUserModels(reqFor('u1'), sharedConfig);

    const cache = compat.getUserModelsCache();
    const store = cache.opts?.store ?? cache.store;
    const dump = JSON.stringify([...store.entries()]);
    for (const key of ALL_KEYS) {
      expect(dump).not.toContain(key);
    }
    const keys = [...store.keys()].map((k) => k.replace(/^(?:keyv:)?USER_MODELS:/, ''));
    expect(keys).toEqual(
      expect.arrayContaining([
        'u1:LiteLLM',
        expect.stringMatching(/^u1:LiteLLM:[0-9a-f]{64}$/),
        'u1:MyProxy',
        expect.stringMatching(/^u1:MyProxy:[0-9a-f]{64}$/),
      ]),
    );
  });
});

describe('resolveEndpointModels modes', () => {
  const litellm = () => getDynamicEndpoints(appConfig)[0];

  it('refresh refetches only lists older than 5 minutes; force refetches now', async () => {
    jest.useFakeTimers({ now: new Date('2026-03-10T00:00:00Z') });
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    await resolveEndpointModels(reqFor('u1'), litellm(), 'cache');
    await resolveEndpointModels(reqFor('u1'), litellm(), 'refresh');
    expect(httpClient.get).toHaveBeenCalledTimes(1);

    jest.setSystemTime(Date.now() + 5 * 60 * 1000 + 1);
    await resolveEndpointModels(reqFor('u1'), litellm(), 'refresh');
    expect(httpClient.get).toHaveBeenCalledTimes(2);

    const state = await resolveEndpointModels(reqFor('u1'), litellm(), 'force');
    expect(httpClient.get).toHaveBeenCalledTimes(3);
    expect(state).toEqual({
      models: ['model-a1', 'model-a2'],
      source: 'user',
      fetchedAt: Date.now(),
    });
  });

  it('refresh re-reads the saved key (a key changed elsewhere is noticed)', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    await resolveEndpointModels(reqFor('u1'), litellm(), 'cache');
    saveKey('u1', 'LiteLLM', { apiKey: KEY_B });
    const state = await resolveEndpointModels(reqFor('u1'), litellm(), 'refresh');
    expect(state.models).toEqual(['model-b1']);
  });
});

describe('invalidateUserModels', () => {
  it('drops one endpoint of one user', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    saveKey('u2', 'LiteLLM', { apiKey: KEY_A });
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await overlayUserModels(reqFor('u2'), sharedConfig);

    saveKey('u1', 'LiteLLM', { apiKey: KEY_B });
    saveKey('u2', 'LiteLLM', { apiKey: KEY_B });
    await invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });

    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(['model-b1']);
    // u2 was not invalidated: still its cached list
    expect((await overlayUserModels(reqFor('u2'), sharedConfig)).LiteLLM).toEqual([
      'model-a1',
      'model-a2',
    ]);
  });

  it('drops every dynamic endpoint of a user without a name', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    saveKey('u1', 'MyProxy', { apiKey: KEY_A, baseURL: 'https://proxy.example.org/v1' });
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await userKeys.deleteUserKey({ userId: 'u1', all: true });
    await invalidateUserModels({ userId: 'u1', role: 'USER' });
    const result = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(result.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(result.MyProxy).toEqual(['proxy-default']);
  });

  it('a request that read the old key before the invalidation does not restore the old index', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    let releaseRead;
    getUserKey.mockImplementationOnce(async () => {
      await new Promise((resolve) => {
        releaseRead = resolve;
      });
      return JSON.stringify({ apiKey: KEY_A });
    });
    const inFlight = overlayUserModels(reqFor('u1'), sharedConfig);
    await new Promise((resolve) => setImmediate(resolve));
    expect(releaseRead).toEqual(expect.any(Function));

    saveKey('u1', 'LiteLLM', { apiKey: KEY_B });
    await invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });
    releaseRead();
    await inFlight;

    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(['model-b1']);
  });

  it('never throws', async () => {
    getAppConfig.mockRejectedValue(new Error('no config'));
    await expect(invalidateUserModels({ userId: 'u1' })).resolves.toBeUndefined();
  });
});

/** Everything the store of the lists holds, as text */
const storedText = () => {
  const cache = compat.getUserModelsCache();
  return JSON.stringify([...(cache.opts?.store ?? cache.store).entries()]);
};

/** A Redis with the semantics of SET key value PX ms [NX], GET, PTTL, DEL and compare-and-delete */
const fakeRedis = () => {
  const entries = new Map();
  const live = (key) => (entries.get(key)?.until > Date.now() ? entries.get(key) : undefined);
  return {
    entries,
    set: jest.fn(async (key, value, px, ms, nx) => {
      expect(px).toBe('PX');
      expect([undefined, 'NX']).toContain(nx);
      if (nx && live(key)) {
        return null;
      }
      entries.set(key, { value, until: Date.now() + ms });
      return 'OK';
    }),
    get: jest.fn(async (key) => live(key)?.value ?? null),
    pttl: jest.fn(async (key) => (live(key)?.until ?? 0) - Date.now()),
    del: jest.fn(async (key) => entries.delete(key)),
    eval: jest.fn(async (_script, _keys, key, token) =>
      live(key)?.value === token ? Number(entries.delete(key)) : 0,
    ),
  };
};

/** The feature loaded again, as another API instance: own process state, shared caches and Redis */
const instance = (redis) => {
  let loaded;
  // v0.7.x keeps the lists in the feature's own store, which Redis shares between instances
  const ownCache = layout.ownCache ? require('../userModelsCache') : null;
  jest.isolateModules(() => {
    if (ownCache) {
      jest.doMock('../userModelsCache', () => ownCache);
    }
    jest.doMock('../userModelsCompat', () => ({
      ...jest.requireActual('../userModelsCompat'),
      getRedisClient: () => redis,
    }));
    jest.spyOn(require('../userModelsFetch').httpClient, 'get').mockImplementation((...args) => {
      httpClient.get(...args);
      return upstreamAnswer(...args);
    });
    loaded = require('../userModels');
  });
  jest.dontMock('../userModelsCompat');
  if (ownCache) {
    jest.dontMock('../userModelsCache');
  }
  return loaded;
};

describe('many API instances on one Redis', () => {
  // each instance loads the feature and the release's modules anew: on a loaded machine one test
  // took over 30 s (jest's timeout becomes two minutes for the whole file)
  jest.setTimeout(120000);

  beforeEach(() => {
    httpClient.get.mockImplementation(() => new Promise(() => undefined));
  });

  it('fetches a user’s list once across instances; the others serve what it stores', async () => {
    const redis = fakeRedis();
    const [a, b] = [instance(redis), instance(redis)];
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    let release;
    upstream[KEY_A] = new Promise((resolve) => {
      release = () => resolve({ status: 200, data: { data: [{ id: 'shared-flight' }] } });
    });
    const fromA = a.overlayUserModels(reqFor('u1'), sharedConfig);
    await settle();
    const fromB = b.overlayUserModels(reqFor('u1'), sharedConfig);
    await settle();
    release();
    expect((await fromA).LiteLLM).toEqual(['shared-flight']);
    expect((await fromB).LiteLLM).toEqual(['shared-flight']);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
    expect([...redis.entries.keys()].filter((key) => key.includes('flight'))).toEqual([]);
  });

  it('takes over a flight lock whose holder died once it expires', async () => {
    const redis = fakeRedis();
    const a = instance(redis);
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    const [endpoint] = a.getDynamicEndpoints(appConfig);
    const digest = require('crypto')
      .createHash('sha256')
      .update(`${endpoint.configDigest}\nhttps://litellm.example.com/v1\n${KEY_A}`)
      .digest('hex');
    await redis.set(`dynmodels:flight:u1:LiteLLM:${digest}`, 'dead', 'PX', 300, 'NX');
    const started = Date.now();
    expect((await a.overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual([
      'model-a1',
      'model-a2',
    ]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
  });

  it('serves a key saved or revoked through one instance from the other on its next request', async () => {
    const redis = fakeRedis();
    const [a, b] = [instance(redis), instance(redis)];
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    expect((await b.overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual([
      'model-a1',
      'model-a2',
    ]);
    saveKey('u1', 'LiteLLM', { apiKey: KEY_B });
    await a.invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });
    expect((await b.overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(['model-b1']);
    await host.userKeys.deleteUserKey({ userId: 'u1', name: 'LiteLLM' });
    await a.invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });
    expect((await b.overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual([
      'gpt-4o-mini',
    ]);
  });

  const revoke = () => host.userKeys.deleteUserKey({ userId: 'u1', name: 'LiteLLM' });
  const replace = () => saveKey('u1', 'LiteLLM', { apiKey: KEY_B });

  it.each([
    ['replaced', 'reads it', replace, ['model-b1']],
    ['revoked', 'reads it', revoke, ['gpt-4o-mini']],
    ['replaced', 'fetches with it', replace, ['model-b1']],
  ])(
    'never serves nor stores the list of a key %s through another instance while one %s',
    async (_change, step, changeKey, expected) => {
      const redis = fakeRedis();
      const [a, b] = [instance(redis), instance(redis)];
      saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
      let release;
      const held = new Promise((resolve) => {
        release = () => resolve({ status: 200, data: { data: [{ id: 'old-model' }] } });
      });
      if (step === 'reads it') {
        const read = getUserKey.getMockImplementation();
        getUserKey.mockImplementationOnce((params) => read(params).then((v) => held.then(() => v)));
      }
      upstream[KEY_A] = held;
      const fromA = a.overlayUserModels(reqFor('u1'), sharedConfig);
      await settle();
      await changeKey();
      await b.invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });
      release();
      await fromA;
      expect(storedText()).not.toContain('old-model');
      expect((await b.overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(expected);
      expect((await a.overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(expected);
    },
  );

  it('keeps a failed fetch for 60 s across instances', async () => {
    const redis = fakeRedis();
    const [a, b] = [instance(redis), instance(redis)];
    saveKey('u1', 'LiteLLM', { apiKey: KEY_BAD });
    expect(
      (await a.overlayUserModelsWithState(reqFor('u1'), sharedConfig)).dynamic.LiteLLM.error,
    ).toBe('unauthorized');
    expect(
      (await b.overlayUserModelsWithState(reqFor('u1'), sharedConfig)).dynamic.LiteLLM.error,
    ).toBe('unauthorized');
    expect(httpClient.get).toHaveBeenCalledTimes(1);
  });
});

describe('takeForceSlot', () => {
  it('allows one forced fetch per user and endpoint every 10 s', async () => {
    jest.useFakeTimers({ now: new Date('2026-03-10T00:00:00Z') });
    expect(await takeForceSlot('u1', ['LiteLLM'])).toBe(0);
    jest.setSystemTime(Date.now() + 3000);
    expect(await takeForceSlot('u1', ['LiteLLM'])).toBe(7);
    expect(await takeForceSlot('u2', ['LiteLLM'])).toBe(0);
    expect(await takeForceSlot('u1', ['MyProxy'])).toBe(0);
    jest.setSystemTime(Date.now() + 7000);
    expect(await takeForceSlot('u1', ['LiteLLM'])).toBe(0);
  });

  it('gives the slot to exactly one of 20 concurrent forced requests', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => takeForceSlot('u1', ['LiteLLM'])),
    );
    expect(answers.filter((wait) => wait === 0)).toHaveLength(1);
    expect(answers.filter((wait) => wait > 0)).toHaveLength(19);
  });

  it('takes the slot with Redis SET NX PX, so another instance is refused too', async () => {
    const redis = fakeRedis();
    const [first, second] = [instance(redis), instance(redis)];
    expect(await first.takeForceSlot('u1', ['LiteLLM'])).toBe(0);
    expect(await second.takeForceSlot('u1', ['LiteLLM'])).toBeGreaterThan(0);
    expect(await second.takeForceSlot('u2', ['LiteLLM'])).toBe(0);
    expect(redis.set).toHaveBeenCalledTimes(3);
  });
});

describe('upstream fetches under load and key changes', () => {
  const pendingAnswer = () => {
    let release;
    const answer = new Promise((resolve) => {
      release = (ids) => resolve({ status: 200, data: { data: ids.map((id) => ({ id })) } });
    });
    return { answer, release };
  };
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('aborts a fetch whose key was replaced and stores nothing for the old key', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    const slow = pendingAnswer();
    upstream[KEY_A] = slow.answer;
    const inFlight = overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    await tick();
    await tick();
    const { signal } = httpClient.get.mock.calls[0][1];
    expect(signal.aborted).toBe(false);

    saveKey('u1', 'LiteLLM', { apiKey: KEY_B });
    await invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });
    expect(signal.aborted).toBe(true);
    slow.release(['old-model']);
    await inFlight;

    expect(storedText()).not.toContain('old-model');
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual(['model-b1']);
  });

  it('runs at most two upstream fetches at once for one user', async () => {
    const custom = ['E1', 'E2', 'E3', 'E4'].map((name) => ({
      name,
      apiKey: 'user_provided',
      baseURL: `https://${name.toLowerCase()}.example.com/v1`,
      models: { default: ['d'], fetch: true },
    }));
    host.setAppConfig({ endpoints: { custom } });
    const slow = pendingAnswer();
    upstream[KEY_A] = slow.answer;
    for (const { name } of custom) {
      saveKey('u1', name, { apiKey: KEY_A });
    }
    const all = overlayUserModels(reqFor('u1'), {});
    for (let i = 0; i < 10; i += 1) {
      await tick();
    }
    expect(httpClient.get).toHaveBeenCalledTimes(2);
    slow.release(['m']);
    const models = await all;
    expect(httpClient.get).toHaveBeenCalledTimes(4);
    expect(models.E4).toEqual(['m']);
  });

  it('runs at most DYNAMIC_MODELS_MAX_FETCHES upstream fetches at once in the process', async () => {
    process.env.DYNAMIC_MODELS_MAX_FETCHES = '3';
    try {
      const slow = pendingAnswer();
      upstream[KEY_A] = slow.answer;
      const users = ['u1', 'u2', 'u3', 'u4', 'u5'];
      users.forEach((user) => saveKey(user, 'LiteLLM', { apiKey: KEY_A }));
      const all = Promise.all(users.map((user) => overlayUserModels(reqFor(user), sharedConfig)));
      for (let i = 0; i < 10; i += 1) {
        await tick();
      }
      expect(httpClient.get).toHaveBeenCalledTimes(3);
      slow.release(['m']);
      await all;
      expect(httpClient.get).toHaveBeenCalledTimes(5);
    } finally {
      delete process.env.DYNAMIC_MODELS_MAX_FETCHES;
    }
  });
});

describe('logging', () => {
  it('logs only the endpoint name and a category for a failed fetch', async () => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_BAD });
    const start = host.logs.length;
    await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(host.logs.slice(start)).toEqual([
      ['warn', '[dynamicModels] LiteLLM: unauthorized (HTTP 401)'],
    ]);
  });
});

describe('what each fetched model is (models.filters, labels, groupBy)', () => {
  const openRouterItems = [
    {
      id: 'openai/o1-pro',
      name: 'OpenAI: o1-pro',
      context_length: 200000,
      pricing: { prompt: '0.00015', completion: '0.0006' },
      architecture: { input_modalities: ['text', 'image'] },
      supported_parameters: ['tools'],
    },
    {
      id: 'meta/llama:free',
      name: 'Meta: Llama (free)',
      context_length: 8192,
      pricing: { prompt: '0', completion: '0' },
      architecture: { input_modalities: ['text'] },
      supported_parameters: ['tools'],
    },
    { id: 'mystery/model' },
  ];

  const withModels = (models) =>
    host.setAppConfig({
      endpoints: {
        custom: [{ ...endpoints.liteLLM, models: { ...endpoints.liteLLM.models, ...models } }],
      },
    });

  beforeEach(() => {
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    httpClient.get.mockImplementation(async () => ({ status: 200, data: { data: openRouterItems } }));
  });

  it('answers each listed model’s metadata with the list, cached with it (no second fetch)', async () => {
    withModels({});
    const first = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    const again = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
    expect(again.dynamic.LiteLLM.meta).toEqual(first.dynamic.LiteLLM.meta);
    expect(first.dynamic.LiteLLM.meta['openai/o1-pro']).toMatchObject({
      label: 'OpenAI: o1-pro',
      contextWindow: 200000,
      inputPrice: 150,
      outputPrice: 600,
      capabilities: ['vision', 'tools'],
    });
    expect(first.dynamic.LiteLLM.meta).not.toHaveProperty('mystery/model');
    expect(first.dynamic.LiteLLM).not.toHaveProperty('groupBy');
  });

  it('drops the metadata with the list when the key is replaced', async () => {
    withModels({});
    await overlayUserModels(reqFor('u1'), sharedConfig);
    await invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });
    httpClient.get.mockImplementation(upstreamAnswer);
    const { dynamic } = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(dynamic.LiteLLM.meta).toBeUndefined();
  });

  /** The keys the store of the lists is asked for (without its namespace) */
  const spyCacheReads = () => {
    const cache = compat.getUserModelsCache();
    const get = jest.spyOn(cache, 'get');
    return () => get.mock.calls.map(([key]) => String(key).replace(/^(?:keyv:)?USER_MODELS:/, ''));
  };

  it('keeps the metadata under its own key, which the models config never reads', async () => {
    withModels({});
    await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(storedText()).toMatch(/u1:LiteLLM:[0-9a-f]{64}:meta/);
    const readKeys = spyCacheReads();
    const models = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(models.LiteLLM).toContain('openai/o1-pro');
    expect(readKeys()).toContainEqual(expect.stringMatching(/^u1:LiteLLM:[0-9a-f]{64}$/));
    expect(readKeys().filter((key) => key.endsWith(':meta'))).toEqual([]);
    const { dynamic } = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
    expect(dynamic.LiteLLM.meta['openai/o1-pro'].contextWindow).toBe(200000);
  });

  it('drops the stored metadata with the list on invalidation', async () => {
    withModels({});
    await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(storedText()).toContain('OpenAI: o1-pro');
    await invalidateUserModels({ userId: 'u1', name: 'LiteLLM' });
    expect(storedText()).not.toContain('OpenAI: o1-pro');
    expect(storedText()).not.toContain(':meta');
  });

  it('labels models by models.labels over the provider’s name, and passes groupBy', async () => {
    withModels({ labels: { 'meta/llama:free': 'Llama (free, ours)', absent: 'x' }, groupBy: 'prefix' });
    const { dynamic } = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(dynamic.LiteLLM.groupBy).toBe('prefix');
    expect(dynamic.LiteLLM.meta['meta/llama:free'].label).toBe('Llama (free, ours)');
    expect(dynamic.LiteLLM.meta['openai/o1-pro'].label).toBe('OpenAI: o1-pro');
    expect(dynamic.LiteLLM.meta).not.toHaveProperty('absent');
  });

  it('drops a model priced over maxInputPrice and keeps one without prices, marked unchecked', async () => {
    withModels({ filters: { maxInputPrice: 10 } });
    const { models, dynamic } = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(models.LiteLLM).toEqual(['meta/llama:free', 'mystery/model']);
    expect(dynamic.LiteLLM.meta['mystery/model']).toEqual({ unchecked: ['maxInputPrice'] });
    expect(dynamic.LiteLLM.meta['meta/llama:free'].unchecked).toBeUndefined();
  });

  it('keeps free models only with freeOnly, and vision models with require: [vision]', async () => {
    withModels({ filters: { freeOnly: true } });
    expect((await overlayUserModels(reqFor('u1'), sharedConfig)).LiteLLM).toEqual([
      'meta/llama:free',
      'mystery/model',
    ]);
    _resetUserModelsState();
    await host.reset();
    saveKey('u1', 'LiteLLM', { apiKey: KEY_A });
    withModels({ filters: { require: ['vision'] } });
    const { models, dynamic } = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(models.LiteLLM).toEqual(['openai/o1-pro', 'mystery/model']);
    expect(dynamic.LiteLLM.meta['mystery/model'].unchecked).toEqual(['vision']);
  });

  it('applies include/exclude and filters together; nothing left means the defaults, filtered_out', async () => {
    withModels({ exclude: ['mystery/*'], filters: { maxOutputPrice: 1, require: ['vision'] } });
    const { models, dynamic } = await overlayUserModelsWithState(reqFor('u1'), sharedConfig);
    expect(models.LiteLLM).toEqual(['gpt-4o-mini']);
    expect(dynamic.LiteLLM).toMatchObject({ source: 'default', error: 'filtered_out' });
  });

  it('refetches when models.filters changes (the cached list was filtered by the old one)', async () => {
    withModels({ filters: { maxInputPrice: 10 } });
    await overlayUserModels(reqFor('u1'), sharedConfig);
    withModels({ filters: { maxInputPrice: 1000 } });
    const models = await overlayUserModels(reqFor('u1'), sharedConfig);
    expect(httpClient.get).toHaveBeenCalledTimes(2);
    expect(models.LiteLLM).toContain('openai/o1-pro');
  });

  /** v0.8.2-v0.8.4 read a fresh `standardCache` each time: shared with LibreChat through Redis only */
  const tokenEndpoint = { name: 'LiteLLM', config: endpoints.liteLLM };
  const tokenStoreShared =
    compat.tokenConfigTarget(reqFor('u1'), tokenEndpoint)?.store ===
    compat.tokenConfigTarget(reqFor('u1'), tokenEndpoint)?.store;

  itOn(tokenStoreShared)('stores context and prices where this release reads the user’s token configuration', async () => {
    withModels({});
    await overlayUserModels(reqFor('u1'), sharedConfig);
    const target = compat.tokenConfigTarget(reqFor('u1'), tokenEndpoint);
    expect(await target.store.get(target.key)).toMatchObject({
      'openai/o1-pro': { prompt: 150, completion: 600, context: 200000 },
      'meta/llama:free': { prompt: 0, completion: 0, context: 8192 },
    });
  });
});
