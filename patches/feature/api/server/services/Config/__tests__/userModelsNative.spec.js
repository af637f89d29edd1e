jest.mock('@librechat/api', () => ({
  ...jest.requireActual('@librechat/api'),
  fetchModels: jest.fn(),
}));

const fs = require('fs');
const path = require('path');
const { mockUserModelsHost, endpoints } = require('~/test/userModelsHost');

const host = mockUserModelsHost(jest);
const { getAppConfig } = host;
const { getUserKeyValues } = host.userKeys;

const dns = require('dns');
const { fetchModels } = require('@librechat/api');
const { loadSharedConfigModels, withoutKeyInLogs } = require('../userModelsNative');
const loadConfigModels = require('../loadConfigModels');

/** v0.8.5 and v0.8.6 wrap the native loader with the feature's rules for user URLs */
const guarded = fs
  .readFileSync(path.join(__dirname, '..', 'loadConfigModels.js'), 'utf8')
  .includes('createGuardedLoadConfigModels');

const ADMIN_KEY = 'sk-admin-SECRET-5a5a';
const USER_KEY = 'sk-user-SECRET-6b6b';

const appConfig = {
  endpoints: {
    custom: [
      {
        name: 'Shared',
        apiKey: '${SHARED_PROVIDER_KEY}',
        baseURL: 'https://shared.example.com/v1',
        models: { default: ['shared-default'], fetch: true },
      },
      endpoints.liteLLM,
      endpoints.myProxy,
    ],
  },
};

const req = { user: { id: 'u1', role: 'USER' } };

beforeEach(async () => {
  jest.clearAllMocks();
  await host.reset();
  process.env.SHARED_PROVIDER_KEY = ADMIN_KEY;
  getAppConfig.mockResolvedValue(appConfig);
  getUserKeyValues.mockResolvedValue({ apiKey: USER_KEY, baseURL: 'https://proxy.example.org' });
  fetchModels.mockResolvedValue(['shared-1', 'shared-2']);
  jest.spyOn(dns.promises, 'lookup').mockImplementation(async (hostname) => {
    if (hostname === 'proxy.example.org') {
      return [{ address: '93.184.216.34', family: 4 }];
    }
    throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  });
});

afterEach(() => {
  host.expectNoneLogged([ADMIN_KEY, USER_KEY]);
});

afterAll(() => {
  delete process.env.SHARED_PROVIDER_KEY;
});

describe('loadSharedConfigModels', () => {
  it('gives user-provided endpoints their defaults without reading a user key or fetching', async () => {
    const models = await loadSharedConfigModels(req);
    expect(models).toEqual({
      Shared: ['shared-1', 'shared-2'],
      LiteLLM: ['gpt-4o-mini'],
      MyProxy: ['proxy-default'],
    });
    expect(getUserKeyValues).not.toHaveBeenCalled();
    expect(fetchModels).toHaveBeenCalledTimes(1);
    expect(fetchModels).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'Shared', apiKey: ADMIN_KEY }),
    );
  });

  it('logs a failed admin fetch by endpoint name, never with the admin key', async () => {
    fetchModels.mockRejectedValue(new Error('connect ECONNREFUSED'));
    const models = await loadSharedConfigModels(req);
    expect(models.Shared).toEqual(['shared-default']);
    expect(host.logs).toEqual([
      ['warn', '[loadConfigModels] Model fetch failed for "Shared"'],
    ]);
  });
});

describe('the native loadConfigModels (still exported)', () => {
  it('no longer logs the admin key when a fetch fails', async () => {
    fetchModels.mockRejectedValue(new Error('boom'));
    const models = await loadConfigModels(req);
    expect(models.Shared).toEqual(['shared-default']);
    const logged = host.logText();
    expect(logged).toContain('Shared');
    expect(logged).not.toContain(ADMIN_KEY);
  });
});

(guarded ? describe : describe.skip)('the native loadConfigModels: the feature’s rules for a user URL', () => {
  const withHeaders = {
    endpoints: {
      custom: appConfig.endpoints.custom.map((endpoint) =>
        endpoint.name === 'MyProxy'
          ? { ...endpoint, headers: { 'X-Id-Token': '{{LIBRECHAT_OPENID_ID_TOKEN}}' } }
          : endpoint,
      ),
    },
  };

  it.each([
    ['loopback', 'http://127.0.0.1:8000/v1'],
    ['private 192.168.x', 'http://192.168.1.20/v1'],
    ['metadata', 'http://169.254.169.254/latest'],
    ['localhost', 'http://localhost:11434/v1'],
  ])('refuses a %s user URL (no request)', async (_label, baseURL) => {
    getAppConfig.mockResolvedValue(withHeaders);
    getUserKeyValues.mockResolvedValue({ apiKey: USER_KEY, baseURL });
    const models = await loadConfigModels(req);
    expect(models.MyProxy).toEqual(['proxy-default']);
    expect(fetchModels).not.toHaveBeenCalledWith(expect.objectContaining({ name: 'MyProxy' }));
  });

  it('sends no configured header to a user URL, only the user key', async () => {
    getAppConfig.mockResolvedValue(withHeaders);
    fetchModels.mockResolvedValue(['user-model']);
    const models = await loadConfigModels(req);
    expect(models.MyProxy).toEqual(['user-model']);
    const call = fetchModels.mock.calls.find(([params]) => params.name === 'MyProxy');
    expect(call[0]).toMatchObject({ apiKey: USER_KEY, baseURL: 'https://proxy.example.org' });
    expect(call[0].headers).toBeUndefined();
    expect(JSON.stringify(fetchModels.mock.calls)).not.toContain('LIBRECHAT_OPENID_ID_TOKEN');
  });

  it('fetches a private user URL whose host is in DYNAMIC_MODELS_ALLOWED_HOSTS, without headers', async () => {
    process.env.DYNAMIC_MODELS_ALLOWED_HOSTS = 'vllm.lan,192.168.1.20';
    try {
      getAppConfig.mockResolvedValue(withHeaders);
      getUserKeyValues.mockResolvedValue({ apiKey: USER_KEY, baseURL: 'http://192.168.1.20/v1' });
      fetchModels.mockResolvedValue(['lan-model']);
      const models = await loadConfigModels(req);
      expect(models.MyProxy).toEqual(['lan-model']);
      const call = fetchModels.mock.calls.find(([params]) => params.name === 'MyProxy');
      expect(call[0]).toMatchObject({ apiKey: USER_KEY, baseURL: 'http://192.168.1.20/v1' });
      expect(call[0].headers).toBeUndefined();
      fetchModels.mockClear();
      getUserKeyValues.mockResolvedValue({ apiKey: USER_KEY, baseURL: 'http://192.168.1.21/v1' });
      expect((await loadConfigModels(req)).MyProxy).toEqual(['proxy-default']);
      expect(fetchModels).not.toHaveBeenCalledWith(expect.objectContaining({ name: 'MyProxy' }));
    } finally {
      delete process.env.DYNAMIC_MODELS_ALLOWED_HOSTS;
    }
  });

  it('leaves a user URL whose host does not resolve to the fetch, as the stock loader does', async () => {
    getUserKeyValues.mockResolvedValue({ apiKey: USER_KEY, baseURL: 'https://nowhere.example.net/v1' });
    await loadConfigModels(req);
    expect(fetchModels).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'MyProxy', baseURL: 'https://nowhere.example.net/v1' }),
    );
  });

  it('never sends the admin key to a user URL', async () => {
    getAppConfig.mockResolvedValue({
      endpoints: {
        custom: appConfig.endpoints.custom.map((endpoint) =>
          endpoint.name === 'MyProxy'
            ? { ...endpoint, apiKey: '${SHARED_PROVIDER_KEY}' }
            : endpoint,
        ),
      },
    });
    const models = await loadConfigModels(req);
    expect(models.MyProxy).toEqual(['proxy-default']);
    expect(JSON.stringify(fetchModels.mock.calls)).not.toContain('proxy.example.org');
  });

  it('leaves an admin base URL with a user key to LibreChat’s fetchModels', async () => {
    await loadConfigModels(req);
    expect(fetchModels).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'LiteLLM', apiKey: USER_KEY }),
    );
  });
});

describe('withoutKeyInLogs', () => {
  it('passes results and parameters through', async () => {
    const fetch = jest.fn().mockResolvedValue(['m']);
    const params = { name: 'X', apiKey: ADMIN_KEY, baseURL: 'https://x' };
    expect(await withoutKeyInLogs(fetch)(params)).toEqual(['m']);
    expect(fetch).toHaveBeenCalledWith(params);
  });
});
