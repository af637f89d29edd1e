const { mockUserModelsHost, endpoints, appConfigWith } = require('~/test/userModelsHost');

const host = mockUserModelsHost(jest, { loaders: true });
const { modelLoaders, logViolation, saveKey, userKeys } = host;

/** The release's own custom endpoint initialization reads these (no network with optionsOnly) */
let configured = [];
modelLoaders.getCustomEndpointConfig = jest.fn(async (name) =>
  configured.find((endpoint) => endpoint.name === name),
);
userKeys.checkUserKeyExpiry = jest.fn();
jest.doMock('~/server/services/ToolService', () => ({
  loadAgentTools: jest.fn(async () => ({ tools: [], toolContextMap: {} })),
}));
const savedAgents = {};
jest.doMock('~/models/Agent', () => ({
  ...jest.requireActual('~/models/Agent'),
  getAgent: jest.fn(async ({ id }) => savedAgents[id] ?? null),
}));

const { httpClient } = require('~/server/services/Config/userModelsFetch');
const { Constants, ViolationTypes } = require('librechat-data-provider');
const { _resetUserModelsState } = require('~/server/services/Config/userModels');
const { initializeClient } = require('~/server/services/Endpoints/agents');

const res = () => ({ write: jest.fn(), end: jest.fn(), on: jest.fn(), headersSent: false });

/** `POST /api/agents/chat/:endpoint` (an ephemeral agent) as the agents build step leaves it */
const ephemeralChat = (userId, endpoint, model) => {
  const req = {
    user: { id: userId, role: 'USER' },
    body: { endpoint, endpointType: 'custom', model, key: 'never', files: [] },
    app: { locals: {} },
  };
  const agent = {
    id: Constants.EPHEMERAL_AGENT_ID,
    name: undefined,
    provider: endpoint,
    model,
    model_parameters: { model },
    instructions: '',
    tools: [],
  };
  return {
    req,
    endpointOption: {
      endpoint,
      endpointType: 'custom',
      model_parameters: { model },
      agent: Promise.resolve(agent),
    },
  };
};

/** `POST /api/agents/chat` with a saved agent; the request's model parameters are merged in */
const savedAgentChat = (userId, agent, model) => {
  savedAgents[agent.id] = agent;
  const chat = ephemeralChat(userId, 'agents', model);
  chat.req.body = { ...chat.req.body, endpoint: 'agents', agent_id: agent.id };
  chat.endpointOption = {
    endpoint: 'agents',
    agent_id: agent.id,
    model_parameters: model ? { model } : {},
    agent: Promise.resolve({ ...agent }),
  };
  return chat;
};

const chat = async ({ req, endpointOption }) => {
  try {
    await initializeClient({ req, res: res(), endpointOption });
    return 'accepted';
  } catch (error) {
    return error.message;
  }
};

const refused = expect.stringContaining(ViolationTypes.ILLEGAL_MODEL_REQUEST);

beforeEach(async () => {
  _resetUserModelsState();
  await host.reset();
  configured = [endpoints.liteLLM, endpoints.static];
  host.setAppConfig(appConfigWith(...configured));
  saveKey('alice', 'LiteLLM', { apiKey: 'sk-alice-SECRET' });
  saveKey('bob', 'LiteLLM', { apiKey: 'sk-bob-SECRET' });
  saveKey('bob', 'Static', { apiKey: 'sk-bob-SECRET' });
  modelLoaders.loadDefaultModels.mockResolvedValue({ openAI: ['gpt-4o'] });
  modelLoaders.loadConfigModels.mockResolvedValue({
    LiteLLM: ['gpt-4o-mini'],
    Static: ['static-1'],
  });
  jest.spyOn(httpClient, 'get').mockImplementation(async (_url, options) => {
    const auth = JSON.stringify(options?.headers ?? {});
    const ids = auth.includes('sk-alice') ? ['alice-private-model'] : ['bob-model'];
    return { status: 200, data: { data: ids.map((id) => ({ id })) } };
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('the agents chat path with per-user models', () => {
  it('runs on the release’s own endpoints config, where the user provides the key', async () => {
    const config = await modelLoaders.getEndpointsConfig(ephemeralChat('bob', 'LiteLLM').req);
    expect(config.LiteLLM).toMatchObject({ type: 'custom', userProvide: true });
  });

  it('lets a user chat with a model of their own list through an ephemeral agent', async () => {
    expect(await chat(ephemeralChat('alice', 'LiteLLM', 'alice-private-model'))).toBe('accepted');
    expect(await chat(ephemeralChat('bob', 'LiteLLM', 'bob-model'))).toBe('accepted');
  });

  it('refuses another user’s model through an ephemeral agent (ILLEGAL_MODEL_REQUEST)', async () => {
    await chat(ephemeralChat('alice', 'LiteLLM', 'alice-private-model'));
    expect(await chat(ephemeralChat('bob', 'LiteLLM', 'alice-private-model'))).toEqual(refused);
    expect(logViolation).toHaveBeenCalledWith(
      expect.objectContaining({ user: expect.objectContaining({ id: 'bob' }) }),
      expect.anything(),
      ViolationTypes.ILLEGAL_MODEL_REQUEST,
      { type: ViolationTypes.ILLEGAL_MODEL_REQUEST },
      expect.anything(),
    );
  });

  it('refuses a saved agent whose model, or the request’s, is not in the user’s list', async () => {
    const agent = { id: 'agent_1', provider: 'LiteLLM', model: 'alice-private-model', tools: [] };
    expect(await chat(savedAgentChat('bob', agent))).toEqual(refused);
    expect(await chat(savedAgentChat('bob', { ...agent, model: 'bob-model' }))).toBe('accepted');
    const overridden = savedAgentChat('bob', { ...agent, model: 'bob-model' }, 'alice-private-model');
    expect(await chat(overridden)).toEqual(refused);
  });

  it('keeps LibreChat’s behaviour for a custom endpoint that does not fetch', async () => {
    expect(await chat(ephemeralChat('bob', 'Static', 'static-any'))).toBe('accepted');
  });
});
