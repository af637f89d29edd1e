const { mockUserModelsHost, layout, endpoints, appConfigWith } = require('~/test/userModelsHost');

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

const requestOf = (userId, body) => ({
  user: { id: userId, role: 'USER' },
  body,
  app: { locals: {} },
});

const run = async (userId, model, endpoint = 'LiteLLM', middleware = validateModel) => {
  const res = recordingResponse();
  const next = jest.fn();
  await middleware(requestOf(userId, { endpoint, model }), res, next);
  return { next, res };
};

const expectViolation = (userId) =>
  expect(logViolation).toHaveBeenCalledWith(
    expect.objectContaining({ user: expect.objectContaining({ id: userId }) }),
    expect.anything(),
    ViolationTypes.ILLEGAL_MODEL_REQUEST,
    { type: ViolationTypes.ILLEGAL_MODEL_REQUEST },
    expect.anything(),
  );

/** An endpoint whose admin key fetches one list for everyone */
const shared = { name: 'Shared', apiKey: 'sk-admin', baseURL: 'https://shared.example.com/v1' };

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
  it('runs on the release’s own endpoints config, where the user provides the key', async () => {
    const config = await modelLoaders.getEndpointsConfig(requestOf('bob', {}));
    expect(config.LiteLLM).toMatchObject({ type: 'custom', userProvide: true });
  });

  it('accepts a model from the user’s own fetched list', async () => {
    const { next, res } = await run('alice', 'alice-private-model');
    expect(next).toHaveBeenCalledTimes(1);
    expect(res.answered()).not.toContain('Illegal model request');
  });

  it('refuses that model for another user (ILLEGAL_MODEL_REQUEST)', async () => {
    await run('alice', 'alice-private-model');
    const { next, res } = await run('bob', 'alice-private-model');
    expect(next).not.toHaveBeenCalled();
    expectViolation('bob');
    expect(res.answered()).toContain('Illegal model request');
  });

  it('refuses an id that no list has, with or without a key (ILLEGAL_MODEL_REQUEST)', async () => {
    expect((await run('alice', 'no-such-model')).next).not.toHaveBeenCalled();
    expectViolation('alice');
    expect((await run('bob', 'no-such-model')).res.answered()).toContain('Illegal model request');
  });

  it('keeps LibreChat’s rule for a user-provided endpoint that does not fetch', async () => {
    host.setAppConfig(appConfigWith(endpoints.liteLLM, endpoints.static));
    modelLoaders.loadConfigModels.mockResolvedValue({
      LiteLLM: ['gpt-4o-mini'],
      Static: ['static-1'],
    });
    /** From v0.8.5 LibreChat lets any id through there; before, only the endpoint's list */
    const { next } = await run('bob', 'static-any', 'Static');
    expect(next).toHaveBeenCalledTimes(layout.native ? 1 : 0);
    expect((await run('bob', 'static-1', 'Static')).next).toHaveBeenCalledTimes(1);
    expect((await run('bob', 'other-model')).next).not.toHaveBeenCalled();
  });

  it('accepts the configured defaults for a user without a key', async () => {
    const { next } = await run('bob', 'gpt-4o-mini');
    expect(next).toHaveBeenCalledTimes(1);
  });

  it('refuses a model that models.exclude drops from the user’s list or the shared list', async () => {
    const filters = { exclude: ['alice-*', 'admin-embedding'] };
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

  it('refuses a model that models.filters drops, accepts one it keeps unchecked', async () => {
    const filters = { filters: { maxInputPrice: 5 } };
    host.setAppConfig(
      appConfigWith({ ...endpoints.liteLLM, models: { ...endpoints.liteLLM.models, ...filters } }),
    );
    httpClient.get.mockResolvedValue({
      status: 200,
      data: {
        data: [
          { id: 'alice-private-model', pricing: { prompt: '0.00015', completion: '0.0006' } },
          { id: 'gpt-4o-mini' },
        ],
      },
    });
    expect((await run('alice', 'gpt-4o-mini')).next).toHaveBeenCalledTimes(1);
    const { next, res } = await run('alice', 'alice-private-model');
    expect(next).not.toHaveBeenCalled();
    expect(res.answered()).toContain('Illegal model request');
    expectViolation('alice');
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

/** The machine-readable refusal in what the middleware answered, or null */
const refusalOf = (res) => {
  const parse = (text) => {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  };
  const calls = [...res.write.mock.calls, ...res.send.mock.calls, ...res.json.mock.calls];
  for (const [arg] of calls) {
    let text = arg?.text;
    if (typeof arg === 'string') {
      const data = parse(arg.match(/^data: (.*)$/m)?.[1]);
      text = typeof data === 'string' ? data : data?.text;
    }
    const json = typeof text === 'string' ? parse(text) : null;
    if (json?.type === 'model_not_listed') {
      return json;
    }
  }
  return null;
};

/**
 * Every series that wires the feature into validateModel gives the refusal's reason: the client's
 * went-away notice reads it (v0.7.5's validateModel is left as released)
 */
const givesReasons = require('fs')
  .readFileSync(require.resolve('./validateModel'), 'utf8')
  .includes('services/Config/userModels');

/** What the API answers for alice's `gone-model`, which her key does not list */
const GONE_MODEL_REFUSAL = {
  type: 'model_not_listed',
  message: 'Illegal model request',
  model: 'gone-model',
  endpoint: 'LiteLLM',
  reason: 'not_listed',
  info: 'LiteLLM|gone-model',
};

(givesReasons ? describe : describe.skip)(
  'validateModel refuses a dynamic endpoint’s missing model with its reason', () => {
  it('not_listed: the user’s key does not list the model', async () => {
    const { next, res } = await run('alice', 'gone-model');
    expect(next).not.toHaveBeenCalled();
    expect(refusalOf(res)).toEqual(GONE_MODEL_REFUSAL);
    /** LibreChat's violation is logged as before */
    expectViolation('alice');
  });

  it('no_key: the user has no key, the defaults are listed', async () => {
    const { res } = await run('bob', 'alice-private-model');
    expect(refusalOf(res)).toMatchObject({ reason: 'no_key', model: 'alice-private-model' });
  });

  it('no_key also after the key was revoked', async () => {
    await run('alice', 'alice-private-model');
    await host.userKeys.deleteUserKey({ userId: 'alice', name: 'LiteLLM' });
    await invalidateUserModels({ userId: 'alice', name: 'LiteLLM' });
    expect(refusalOf((await run('alice', 'alice-private-model')).res).reason).toBe('no_key');
  });

  it('key_changed: the key was replaced and the new one does not list the model', async () => {
    expect((await run('alice', 'alice-private-model')).next).toHaveBeenCalled();
    const before = Date.now();
    saveKey('alice', 'LiteLLM', { apiKey: 'sk-alice-OTHER' });
    await invalidateUserModels({ userId: 'alice', name: 'LiteLLM' });
    httpClient.get.mockResolvedValue({ status: 200, data: { data: [{ id: 'gpt-4o-mini' }] } });
    const { next, res } = await run('alice', 'alice-private-model');
    expect(next).not.toHaveBeenCalled();
    const refusal = refusalOf(res);
    expect(refusal).toMatchObject({ reason: 'key_changed', endpoint: 'LiteLLM' });
    expect(refusal.keyChangedAt).toBeGreaterThanOrEqual(before);
    /** Another user's key change is not theirs */
    expect(refusalOf((await run('bob', 'no-such-model')).res).reason).toBe('no_key');
  });

  it('keeps LibreChat’s plain answer for an endpoint that is not dynamic', async () => {
    host.setAppConfig(appConfigWith(endpoints.liteLLM, { ...shared, models: { default: ['a'] } }));
    modelLoaders.loadConfigModels.mockResolvedValue({ LiteLLM: ['gpt-4o-mini'], Shared: ['a'] });
    const { next, res } = await run('alice', 'b', 'Shared');
    expect(next).not.toHaveBeenCalled();
    expect(refusalOf(res)).toBeNull();
    expect(res.answered()).toContain('Illegal model request');
  });
});

/** The agents initialization throws the same reason on the series that wire it (v0.8.7 and later) */
const agentsInitialize = (() => {
  try {
    return require('fs').readFileSync(
      require.resolve('~/server/services/Endpoints/agents/initialize'),
      'utf8',
    );
  } catch {
    return '';
  }
})();

(agentsInitialize.includes('describeAgentModelRefusal') ? describe : describe.skip)(
  'the agents path refuses an agent’s unlisted model with the same reason', () => {
  const { describeAgentModelRefusal } = require('~/server/services/Config/userModels');
  /** What the agents initialization throws: LibreChat's own check, then the feature's reason */
  const agentRefusal = async (userId, agent) => {
    const { validateAgentModel } = require('@librechat/api');
    const { getModelsConfig } = require('~/server/controllers/ModelController');
    const req = requestOf(userId, { endpoint: 'agents', agent_id: agent.id });
    const result = await validateAgentModel({
      req,
      res: recordingResponse(),
      agent,
      modelsConfig: await getModelsConfig(req),
      logViolation,
    });
    if (result.isValid) {
      return null;
    }
    const message = result.error?.message;
    return JSON.parse((await describeAgentModelRefusal(req, agent, message)) ?? message);
  };
  const agent = { id: 'agent_1', name: 'Research', provider: 'LiteLLM', model: 'gone-model' };

  it('names the agent, the model and why, as validateModel does', async () => {
    expect(await agentRefusal('alice', agent)).toEqual({
      ...GONE_MODEL_REFUSAL,
      agent_id: 'agent_1',
      agent: 'Research',
    });
    expect(logViolation).toHaveBeenCalled();
    expect((await agentRefusal('bob', agent)).reason).toBe('no_key');
  });

  it('lets a listed model through and keeps LibreChat’s answer elsewhere', async () => {
    expect(await agentRefusal('alice', { ...agent, model: 'alice-private-model' })).toBeNull();
    const openAI = await agentRefusal('alice', { ...agent, provider: 'openAI', model: 'gone' });
    expect(openAI).toEqual({ type: ViolationTypes.ILLEGAL_MODEL_REQUEST, info: 'openAI|gone' });
    expect(await describeAgentModelRefusal({}, agent, '{ "type": "no_user_key" }')).toBeNull();
  });
});

describe('validateModel without the filter module (data provider not rebuilt)', () => {
  const filters = { exclude: ['admin-embedding'] };
  let isolated;
  beforeEach(() => {
    jest.isolateModules(() => {
      jest.doMock('librechat-data-provider', () => {
        const { filterModelList: _unbuilt, ...dataProvider } =
          jest.requireActual('librechat-data-provider');
        return dataProvider;
      });
      isolated = {
        validateModel: require('./validateModel'),
        httpClient: require('~/server/services/Config/userModelsFetch').httpClient,
      };
    });
    jest.dontMock('librechat-data-provider');
    jest.spyOn(isolated.httpClient, 'get').mockResolvedValue({
      status: 200,
      data: { data: [{ id: 'alice-private-model' }, { id: 'gpt-4o-mini' }] },
    });
    host.setAppConfig(
      appConfigWith(
        { ...endpoints.liteLLM, models: { ...endpoints.liteLLM.models, ...filters } },
        { ...shared, models: { default: ['admin-chat'], fetch: true, ...filters } },
        { ...endpoints.liteLLM, name: 'Plain' },
      ),
    );
    modelLoaders.loadConfigModels.mockResolvedValue({
      LiteLLM: ['gpt-4o-mini'],
      Shared: ['admin-chat', 'admin-extra'],
      Plain: ['gpt-4o-mini'],
    });
    saveKey('alice', 'Plain', { apiKey: 'sk-alice-SECRET' });
  });

  it('serves the defaults of endpoints with filters, refuses fetched ids, logs the fix once', async () => {
    const runIsolated = (userId, model, endpoint = 'LiteLLM') =>
      run(userId, model, endpoint, isolated.validateModel);
    expect((await runIsolated('alice', 'gpt-4o-mini')).next).toHaveBeenCalledTimes(1);
    const { next, res } = await runIsolated('alice', 'alice-private-model');
    expect(next).not.toHaveBeenCalled();
    expectViolation('alice');
    expect(res.answered()).toContain('Illegal model request');
    expect((await runIsolated('bob', 'admin-extra', 'Shared')).next).not.toHaveBeenCalled();
    expect((await runIsolated('bob', 'admin-chat', 'Shared')).next).toHaveBeenCalledTimes(1);
    const built = host.logs.filter((line) =>
      line.join(' ').includes('npm run build:data-provider'),
    );
    expect(built).toHaveLength(1);
    /** An endpoint without filters keeps the user’s list */
    expect((await runIsolated('alice', 'alice-private-model', 'Plain')).next).toHaveBeenCalled();
  });
});
