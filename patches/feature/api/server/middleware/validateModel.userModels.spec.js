const { mockUserModelsHost, endpoints, appConfigWith } = require('~/test/userModelsHost');

const host = mockUserModelsHost(jest, { loaders: true });
const { modelLoaders, logViolation, saveKey } = host;

const { httpClient } = require('~/server/services/Config/userModelsFetch');
const { ViolationTypes } = require('librechat-data-provider');
const {
  invalidateUserModels,
  _resetUserModelsState,
} = require('~/server/services/Config/userModels');
const validateModel = require('./validateModel');

const appConfig = appConfigWith(endpoints.liteLLM);

/** A response that records what LibreChat's `handleError` writes (an SSE error event) */
const recordingResponse = () => {
  const res = {};
  for (const method of ['write', 'end', 'send', 'json', 'setHeader', 'flushHeaders']) {
    res[method] = jest.fn(() => res);
  }
  res.status = jest.fn(() => res);
  res.answered = () =>
    JSON.stringify([res.write.mock.calls, res.send.mock.calls, res.json.mock.calls]);
  return res;
};

const run = async (userId, model, endpoint = 'LiteLLM') => {
  const req = {
    user: { id: userId, role: 'USER' },
    body: { endpoint, model },
    app: { locals: {} },
  };
  const res = recordingResponse();
  const next = jest.fn();
  await validateModel(req, res, next);
  return { next, res };
};

beforeEach(async () => {
  _resetUserModelsState();
  await host.reset();
  host.setAppConfig(appConfig);
  saveKey('alice', 'LiteLLM', { apiKey: 'sk-alice-SECRET' });
  modelLoaders.loadDefaultModels.mockResolvedValue({ openAI: ['gpt-4o'] });
  modelLoaders.loadConfigModels.mockResolvedValue({ LiteLLM: ['gpt-4o-mini'] });
  jest.spyOn(httpClient, 'get').mockResolvedValue({
    status: 200,
    data: { data: [{ id: 'alice-private-model' }, { id: 'gpt-4o-mini' }] },
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('validateModel with per-user models', () => {
  it('accepts a model from the user’s own fetched list', async () => {
    const { next, res } = await run('alice', 'alice-private-model');
    expect(next).toHaveBeenCalledTimes(1);
    expect(res.answered()).not.toContain('Illegal model request');
  });

  it('refuses that model for another user (ILLEGAL_MODEL_REQUEST)', async () => {
    await run('alice', 'alice-private-model');
    const { next, res } = await run('bob', 'alice-private-model');
    expect(next).not.toHaveBeenCalled();
    expect(logViolation).toHaveBeenCalledWith(
      expect.objectContaining({ user: expect.objectContaining({ id: 'bob' }) }),
      expect.anything(),
      ViolationTypes.ILLEGAL_MODEL_REQUEST,
      { type: ViolationTypes.ILLEGAL_MODEL_REQUEST },
      expect.anything(),
    );
    expect(res.answered()).toContain('Illegal model request');
  });

  it('accepts the configured defaults for a user without a key', async () => {
    const { next } = await run('bob', 'gpt-4o-mini');
    expect(next).toHaveBeenCalledTimes(1);
  });

  it('refuses a model that models.exclude drops from the user’s list or the shared list', async () => {
    const filters = { exclude: ['alice-*', 'admin-embedding'] };
    const shared = { name: 'Shared', apiKey: 'sk-admin', baseURL: 'https://shared.example.com/v1' };
    host.setAppConfig(
      appConfigWith(
        { ...endpoints.liteLLM, models: { ...endpoints.liteLLM.models, ...filters } },
        { ...shared, models: { default: ['admin-chat'], fetch: true, ...filters } },
      ),
    );
    modelLoaders.loadConfigModels.mockResolvedValue({
      LiteLLM: ['gpt-4o-mini'],
      Shared: ['admin-chat', 'admin-embedding'],
    });
    expect((await run('alice', 'gpt-4o-mini')).next).toHaveBeenCalledTimes(1);
    const { next, res } = await run('alice', 'alice-private-model');
    expect(next).not.toHaveBeenCalled();
    expect(res.answered()).toContain('Illegal model request');
    expect((await run('bob', 'admin-embedding', 'Shared')).next).not.toHaveBeenCalled();
    expect((await run('bob', 'admin-chat', 'Shared')).next).toHaveBeenCalledTimes(1);
  });

  it('refuses the user’s former model once the key is revoked', async () => {
    expect((await run('alice', 'alice-private-model')).next).toHaveBeenCalled();
    await host.userKeys.deleteUserKey({ userId: 'alice', name: 'LiteLLM' });
    await invalidateUserModels({ userId: 'alice', name: 'LiteLLM' });
    const { next, res } = await run('alice', 'alice-private-model');
    expect(next).not.toHaveBeenCalled();
    expect(res.answered()).toContain('Illegal model request');
  });
});
