const { mockUserModelsHost, endpoints, appConfigWith } = require('~/test/userModelsHost');

const host = mockUserModelsHost(jest, { loaders: true });
const { layout, modelLoaders, saveKey } = host;

const { httpClient } = require('~/server/services/Config/userModelsFetch');
const { CacheKeys } = require('librechat-data-provider');
const { _resetUserModelsState } = require('~/server/services/Config/userModels');
const {
  getModelsConfig,
  loadModels,
  loadSharedModels,
  modelController,
} = require('./ModelController');

const KEYS = { alice: 'sk-alice-SECRET', bob: 'sk-bob-SECRET' };
const LISTS = { [KEYS.alice]: ['alice-model'], [KEYS.bob]: ['bob-model-1', 'bob-model-2'] };
const SHARED = { openAI: ['gpt-4o'], LiteLLM: ['gpt-4o-mini'] };

const appConfig = appConfigWith(endpoints.liteLLM);

/** v0.7.x loaders read `req.app.locals` */
const reqFor = (id) => ({ user: { id, role: 'USER' }, app: { locals: {} } });

beforeEach(async () => {
  _resetUserModelsState();
  await host.reset();
  host.setAppConfig(appConfig);
  saveKey('alice', 'LiteLLM', { apiKey: KEYS.alice });
  saveKey('bob', 'LiteLLM', { apiKey: KEYS.bob });
  modelLoaders.loadDefaultModels.mockResolvedValue({ openAI: ['gpt-4o'] });
  modelLoaders.loadConfigModels.mockResolvedValue({ LiteLLM: ['gpt-4o-mini'] });
  jest.spyOn(httpClient, 'get').mockImplementation(async (url, config) => {
    const key = config.headers.Authorization.replace('Bearer ', '');
    return { status: 200, data: { data: LISTS[key].map((id) => ({ id })) } };
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('ModelController with per-user models', () => {
  it('getModelsConfig overlays each user’s own list on the shared config', async () => {
    const alice = await getModelsConfig(reqFor('alice'));
    const bob = await getModelsConfig(reqFor('bob'));
    const carol = await getModelsConfig(reqFor('carol'));

    expect(alice).toEqual({ openAI: ['gpt-4o'], LiteLLM: ['alice-model'] });
    expect(bob).toEqual({ openAI: ['gpt-4o'], LiteLLM: ['bob-model-1', 'bob-model-2'] });
    expect(carol).toEqual(SHARED);
    // natively, the shared loader reads no user key: the lists come from the per-user cache
    expect(host.userKeys.getUserKeyValues).not.toHaveBeenCalled();
  });

  it('loadSharedModels holds only the configured defaults, for everyone', async () => {
    const shared = await loadSharedModels(reqFor('alice'));
    expect(shared).toEqual(SHARED);
    expect(httpClient.get).not.toHaveBeenCalled();
    if (!layout.native) {
      // before v0.8.5 the shared config is cached in MODELS_CONFIG, for every user
      await getModelsConfig(reqFor('bob'));
      const cached = await host.getLogStores(CacheKeys.CONFIG_STORE).get(CacheKeys.MODELS_CONFIG);
      expect(cached).toEqual(SHARED);
      expect(modelLoaders.loadConfigModels).toHaveBeenCalledTimes(1);
    }
  });

  it('serves repeated and concurrent calls from the per-user cache (one upstream fetch)', async () => {
    await Promise.all(Array.from({ length: 6 }, () => getModelsConfig(reqFor('bob'))));
    const again = await loadModels(reqFor('bob'));
    expect(again.LiteLLM).toEqual(['bob-model-1', 'bob-model-2']);
    expect(httpClient.get).toHaveBeenCalledTimes(1);
  });

  it('modelController answers the requesting user’s models', async () => {
    const res = { send: jest.fn(), status: jest.fn().mockReturnThis() };
    await modelController(reqFor('alice'), res);
    expect(res.send).toHaveBeenCalledWith({ openAI: ['gpt-4o'], LiteLLM: ['alice-model'] });
  });
});
