const { mockUserModelsHost } = require('~/test/userModelsHost');

const host = mockUserModelsHost(jest);

/**
 * Loaded as the API loads it: up to v0.7.9 its import adds a browser token refresh to the global
 * axios, in Node too (a provider's 401 then became an invalid-URL error, reported `unreachable`).
 */
require('librechat-data-provider');

const http = require('http');
const { HttpsProxyAgent } = require('https-proxy-agent');
const { keepsConfiguredAuthorization, proxyHelpers } = require('../userModelsCompat');
const {
  httpClient,
  FetchErrors,
  isBlockedAddress,
  checkUserBaseURL,
  parseModelList,
  fetchUserModelList,
} = require('../userModelsFetch');

const SECRET = 'sk-live-SECRET-KEY-9f8e7d';

describe('isBlockedAddress', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.10',
    '169.254.169.254',
    '168.63.129.16',
    '100.100.100.200',
    'fd00:ec2::254',
    '100.64.0.1',
    '100.127.255.254',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::10.0.0.1',
    'not-an-ip',
  ])('blocks %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each(['8.8.8.8', '93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700::1111'])(
    'allows %s',
    (address) => {
      expect(isBlockedAddress(address)).toBe(false);
    },
  );
});

describe('checkUserBaseURL', () => {
  const publicLookup = jest.fn(async () => [{ address: '93.184.216.34', family: 4 }]);

  afterEach(() => {
    delete process.env.DYNAMIC_MODELS_ALLOWED_HOSTS;
    publicLookup.mockClear();
  });

  it.each([
    ['http', 'http://api.example.com/v1'],
    ['loopback literal', 'https://127.0.0.1:8443/v1'],
    ['localhost resolving to loopback', 'https://localhost/v1'],
    ['private literal', 'https://10.0.0.5/v1'],
    ['metadata', 'https://169.254.169.254/latest/meta-data'],
    ['IPv6 loopback', 'https://[::1]/v1'],
    ['IPv6 metadata', 'https://[fd00:ec2::254]/'],
    ['credentials in the URL', 'https://user:pass@api.example.com/v1'],
    ['not a URL', 'api.example.com/v1'],
    ['file', 'file:///etc/passwd'],
  ])('refuses %s', async (_label, url) => {
    const lookup = jest.fn(async (host) =>
      host === 'localhost' ? [{ address: '127.0.0.1', family: 4 }] : await publicLookup(host),
    );
    expect(await checkUserBaseURL(url, { lookup })).toEqual({
      ok: false,
      error: FetchErrors.BLOCKED_URL,
    });
  });

  it('refuses a host when any of its addresses is private', async () => {
    const lookup = jest.fn(async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '192.168.0.2', family: 4 },
    ]);
    const result = await checkUserBaseURL('https://mixed.example.com/v1', { lookup });
    expect(result).toEqual({ ok: false, error: FetchErrors.BLOCKED_URL });
    expect(lookup).toHaveBeenCalledWith('mixed.example.com', { all: true, verbatim: true });
  });

  it('accepts a public https host and returns the checked addresses', async () => {
    const result = await checkUserBaseURL('https://api.example.com/v1', { lookup: publicLookup });
    expect(result).toMatchObject({
      ok: true,
      addresses: [{ address: '93.184.216.34', family: 4 }],
    });
  });

  it('answers unreachable when the host does not resolve', async () => {
    const lookup = jest.fn(async () => {
      const error = new Error('getaddrinfo ENOTFOUND');
      error.code = 'ENOTFOUND';
      throw error;
    });
    expect(await checkUserBaseURL('https://nx.example.com', { lookup })).toEqual({
      ok: false,
      error: FetchErrors.UNREACHABLE,
    });
  });

  it('lets allowlisted hosts through, over http too, without a lookup', async () => {
    process.env.DYNAMIC_MODELS_ALLOWED_HOSTS = ' vllm.lan:8000 , LocalHost,10.0.0.5';
    for (const url of ['http://vllm.lan:8000/v1', 'https://localhost/v1', 'http://10.0.0.5/v1']) {
      expect(await checkUserBaseURL(url, { lookup: publicLookup })).toMatchObject({
        ok: true,
        addresses: null,
      });
    }
    expect(publicLookup).not.toHaveBeenCalled();
    expect(await checkUserBaseURL('ftp://vllm.lan/v1')).toMatchObject({ ok: false });
  });

  it('allows a bare allowlisted host on its scheme’s default port only', async () => {
    process.env.DYNAMIC_MODELS_ALLOWED_HOSTS = 'localhost,vllm.lan:8000';
    const privateLookup = jest.fn(async () => [{ address: '192.168.1.20', family: 4 }]);
    for (const url of [
      'http://localhost:6379/v1',
      'https://localhost:8443/v1',
      'http://vllm.lan/v1',
      'http://vllm.lan:9000/v1',
    ]) {
      const { ok, error } = await checkUserBaseURL(url, { lookup: privateLookup });
      expect([url, ok, error]).toEqual([url, false, FetchErrors.BLOCKED_URL]);
    }
    expect(await checkUserBaseURL('http://localhost/v1')).toMatchObject({ ok: true });
  });

  it.each(['https://api.example.com/v1?', 'https://api.example.com/v1#', 'https://api.example.com/v1?x=1'])(
    'refuses a base URL with a query or fragment: %s',
    async (url) => {
      process.env.DYNAMIC_MODELS_ALLOWED_HOSTS = 'api.example.com';
      expect(await checkUserBaseURL(url, { lookup: publicLookup })).toEqual({
        ok: false,
        error: FetchErrors.BLOCKED_URL,
      });
    },
  );

  it('lets host:port entries of endpoints.allowedAddresses through on that port only', async () => {
    const allowedAddresses = ['10.0.0.5:8000', '[fd00::5]:8080'];
    for (const url of ['http://10.0.0.5:8000/v1', 'http://[fd00::5]:8080/v1']) {
      expect(await checkUserBaseURL(url, { lookup: publicLookup, allowedAddresses })).toMatchObject(
        { ok: true, addresses: null },
      );
    }
    for (const url of ['http://10.0.0.5:9000/v1', 'https://10.0.0.5/v1']) {
      expect(await checkUserBaseURL(url, { lookup: publicLookup, allowedAddresses })).toEqual({
        ok: false,
        error: FetchErrors.BLOCKED_URL,
      });
    }
  });
});

describe('parseModelList', () => {
  it('reads OpenAI-style, string-array and id-array answers', () => {
    expect(parseModelList({ data: [{ id: 'a' }, { id: 'b' }, { id: 'a' }] })).toEqual(['a', 'b']);
    expect(parseModelList(['x', ' y '])).toEqual(['x', 'y']);
    expect(parseModelList([{ id: 'z' }, { name: 'no-id' }, 5])).toEqual(['z']);
  });

  it('returns null for unknown shapes and empty lists', () => {
    expect(parseModelList({ data: [] })).toBeNull();
    expect(parseModelList({ models: ['a'] })).toBeNull();
    expect(parseModelList('a,b')).toBeNull();
    expect(parseModelList(null)).toBeNull();
  });
});

describe('fetchUserModelList against a local server', () => {
  let server;
  let baseURL;
  let requests;
  let handler;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push({ url: req.url, headers: req.headers, rawHeaders: req.rawHeaders });
      handler(req, res);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${server.address().port}/v1`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    requests = [];
    process.env.DYNAMIC_MODELS_ALLOWED_HOSTS = new URL(baseURL).host;
    handler = (req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'm1' }, { id: 'm2' }] }));
    };
  });

  afterEach(() => {
    delete process.env.DYNAMIC_MODELS_ALLOWED_HOSTS;
    delete process.env.DYNAMIC_MODELS_TIMEOUT_MS;
    // no logger call ever carries the key or the URL
    const logged = host.logText();
    host.logs.length = 0;
    if (logged.includes(SECRET) || logged.includes('127.0.0.1')) {
      throw new Error('a logger call contains the key or the URL');
    }
  });

  const call = (overrides = {}) =>
    fetchUserModelList({
      name: 'LiteLLM',
      baseURL,
      apiKey: SECRET,
      userProvidedURL: true,
      headers: { 'X-Admin-Secret': 'admin' },
      ...overrides,
    });

  it('fetches GET {baseURL}/models with the bearer key', async () => {
    expect(await call()).toEqual({ models: ['m1', 'm2'] });
    expect(requests).toHaveLength(1);
    expect(requests[0].url).toBe('/v1/models');
    expect(requests[0].headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(requests[0].headers['x-admin-secret']).toBeUndefined();
    expect(host.logs).toEqual([]);
  });

  it('sends configured headers and ?user= only to an admin base URL', async () => {
    await call({ userProvidedURL: false, userIdQuery: 'user-1' });
    expect(requests[0].headers['x-admin-secret']).toBe('admin');
    expect(requests[0].url).toBe('/v1/models?user=user-1');
  });

  it('sends the key as the Authorization header, or a configured one where this release keeps it', async () => {
    await call({ userProvidedURL: false, headers: { authorization: 'Bearer admin-token' } });
    expect(requests[0].headers.authorization).toBe(
      keepsConfiguredAuthorization ? 'Bearer admin-token' : `Bearer ${SECRET}`,
    );
    expect(requests[0].rawHeaders.filter((h) => h.toLowerCase() === 'authorization')).toHaveLength(1);
  });

  it.each([
    [401, 'unauthorized'],
    [403, 'unauthorized'],
    [404, 'bad_response'],
    [429, 'unreachable'],
    [500, 'unreachable'],
  ])('classifies HTTP %i as %s and logs no body', async (status, category) => {
    handler = (req, res) => {
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${SECRET}` } }));
    };
    expect(await call()).toEqual({ error: category, status });
    expect(host.logs).toEqual([
      ['warn', `[dynamicModels] LiteLLM: ${category} (HTTP ${status})`],
    ]);
  });

  it('reports a rejected key as unauthorized with the data provider loaded', async () => {
    handler = (req, res) => {
      res.statusCode = 401;
      res.end('{"error":"invalid key"}');
    };
    expect(await call()).toEqual({ error: 'unauthorized', status: 401 });
    expect(requests.map((r) => r.url)).toEqual(['/v1/models']);
  });

  it('does not follow redirects', async () => {
    handler = (req, res) => {
      if (req.url.startsWith('/elsewhere')) {
        res.end(JSON.stringify({ data: [{ id: 'leaked' }] }));
        return;
      }
      res.statusCode = 302;
      res.setHeader('Location', '/elsewhere/models');
      res.end();
    };
    expect(await call()).toEqual({ error: 'bad_response', status: 302 });
    expect(requests).toHaveLength(1);
  });

  it.each([
    ['invalid JSON', 'not json {'],
    ['an empty list', JSON.stringify({ data: [] })],
    ['an unknown shape', JSON.stringify({ models: ['a'] })],
  ])('answers bad_response for %s', async (_label, body) => {
    handler = (req, res) => res.end(body);
    expect(await call()).toEqual({ error: 'bad_response' });
  });

  it('treats DYNAMIC_MODELS_TIMEOUT_MS as a deadline for the whole answer (a trickling body)', async () => {
    process.env.DYNAMIC_MODELS_TIMEOUT_MS = '300';
    let trickle;
    handler = (req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.write('{"data":[');
      trickle = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(trickle));
    };
    const started = Date.now();
    expect(await call()).toEqual({ error: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1500);
    clearInterval(trickle);
  });

  it('stops a fetch whose signal is aborted (the key was replaced) and says so', async () => {
    const controller = new AbortController();
    handler = () => controller.abort();
    expect(await call({ signal: controller.signal })).toEqual({ error: 'canceled' });
  });

  it('asks an endpoint named Ollama for /api/tags first, as LibreChat does', async () => {
    handler = (req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ models: [{ name: 'llama3:8b' }, { name: 'qwen2' }] }));
    };
    expect(await call({ name: 'ollama' })).toEqual({ models: ['llama3:8b', 'qwen2'] });
    expect(requests.map((r) => r.url)).toEqual(['/api/tags']);
  });

  it('falls back to {baseURL}/models when an Ollama endpoint has no /api/tags', async () => {
    handler = (req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/api/tags') {
        res.statusCode = 404;
        res.end('{}');
        return;
      }
      res.end(JSON.stringify({ data: [{ id: 'm1' }] }));
    };
    expect(await call({ name: 'Ollama' })).toEqual({ models: ['m1'] });
    expect(requests.map((r) => r.url)).toEqual(['/api/tags', '/v1/models']);
  });

  it('times out after DYNAMIC_MODELS_TIMEOUT_MS', async () => {
    process.env.DYNAMIC_MODELS_TIMEOUT_MS = '150';
    handler = (req, res) => setTimeout(() => res.end('{"data":[{"id":"late"}]}'), 1000);
    expect(await call()).toEqual({ error: 'timeout' });
    expect(host.logs).toEqual([['warn', '[dynamicModels] LiteLLM: timeout']]);
  });

  it('answers unreachable when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = closed.address().port;
    await new Promise((resolve) => closed.close(resolve));
    process.env.DYNAMIC_MODELS_ALLOWED_HOSTS = `127.0.0.1:${port}`;
    expect(await call({ baseURL: `http://127.0.0.1:${port}/v1` })).toEqual({
      error: 'unreachable',
    });
  });

  it('makes no request to a blocked URL', async () => {
    delete process.env.DYNAMIC_MODELS_ALLOWED_HOSTS;
    const get = jest.spyOn(httpClient, 'get');
    expect(await call()).toEqual({ error: 'blocked_url' });
    expect(get).not.toHaveBeenCalled();
    expect(requests).toHaveLength(0);
    get.mockRestore();
  });
});

describe('fetchUserModelList connection pinning', () => {
  it('connects only to the addresses that were checked (no second DNS answer)', async () => {
    const lookup = jest.fn(async () => [{ address: '93.184.216.34', family: 4 }]);
    const get = jest
      .spyOn(httpClient, 'get')
      .mockResolvedValue({ status: 200, data: { data: [{ id: 'pinned' }] } });

    const result = await fetchUserModelList({
      name: 'MyProxy',
      baseURL: 'https://api.example.com/v1',
      apiKey: SECRET,
      userProvidedURL: true,
      lookup,
    });

    expect(result).toEqual({ models: ['pinned'] });
    const config = get.mock.calls[0][1];
    expect(config.proxy).toBe(false);
    const pinnedLookup = config.httpsAgent.options.lookup;
    const answers = await Promise.all([
      new Promise((resolve) => pinnedLookup('api.example.com', {}, (...args) => resolve(args))),
      new Promise((resolve) =>
        pinnedLookup('api.example.com', { all: true }, (...args) => resolve(args)),
      ),
    ]);
    expect(answers[0]).toEqual([null, '93.184.216.34', 4]);
    expect(answers[1]).toEqual([null, [{ address: '93.184.216.34', family: 4 }]]);
    get.mockRestore();
  });

  it('sends admin URLs through PROXY and refuses user URLs then (a proxy would resolve the name again)', async () => {
    process.env.PROXY = 'http://proxy.internal:3128';
    const lookup = jest.fn(async () => [{ address: '93.184.216.34', family: 4 }]);
    const get = jest
      .spyOn(httpClient, 'get')
      .mockResolvedValue({ status: 200, data: { data: [{ id: 'm' }] } });
    try {
      const params = { name: 'LiteLLM', baseURL: 'https://api.example.com/v1', apiKey: SECRET };
      await fetchUserModelList({ ...params, userProvidedURL: false });
      expect(get.mock.calls[0][1].httpsAgent).toBeInstanceOf(HttpsProxyAgent);
      expect(await fetchUserModelList({ ...params, userProvidedURL: true, lookup })).toEqual({
        error: 'blocked_url',
      });
      expect(get).toHaveBeenCalledTimes(1);
    } finally {
      delete process.env.PROXY;
      get.mockRestore();
    }
  });

  (proxyHelpers ? it : it.skip)('routes admin URLs with LibreChat’s proxy helper (NO_PROXY, http)', async () => {
    process.env.PROXY = 'http://proxy.internal:3128';
    process.env.NO_PROXY = 'direct.example.com';
    const get = jest
      .spyOn(httpClient, 'get')
      .mockResolvedValue({ status: 200, data: { data: [{ id: 'm' }] } });
    try {
      const admin = { name: 'LiteLLM', apiKey: SECRET, userProvidedURL: false };
      await fetchUserModelList({ ...admin, baseURL: 'https://direct.example.com/v1' });
      await fetchUserModelList({ ...admin, baseURL: 'http://plain.example.com/v1' });
      expect(get.mock.calls[0][1].httpsAgent).toBeUndefined();
      expect(get.mock.calls[0][1].proxy).toBe(false);
      expect(get.mock.calls[1][1].proxy).toMatchObject({ host: 'proxy.internal', port: 3128 });
    } finally {
      delete process.env.PROXY;
      delete process.env.NO_PROXY;
      get.mockRestore();
    }
  });
});

describe('fetchUserModelList: what the provider says about each model', () => {
  let server;
  let baseURL;
  let requests;
  let routes;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests.push({ url: req.url, headers: req.headers });
      const route = routes[req.url.split('?')[0]];
      if (!route) {
        res.statusCode = 404;
        return res.end('{}');
      }
      route(req, res);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${server.address().port}/v1`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const json = (body, headers = {}) => (req, res) => {
    res.setHeader('Content-Type', 'application/json');
    Object.entries(headers).forEach(([name, value]) => res.setHeader(name, value));
    res.end(JSON.stringify(body));
  };

  const liteLLMInfo = {
    data: [
      {
        model_name: 'gpt-4o',
        litellm_params: { model: 'openai/gpt-4o', api_key: 'sk-upstream-admin' },
        model_info: {
          max_input_tokens: 128000,
          max_output_tokens: 16384,
          input_cost_per_token: 0.0000025,
          output_cost_per_token: 0.00001,
          supports_vision: true,
          supports_function_calling: true,
        },
      },
      { model_name: 'local-llama', model_info: { supports_vision: false } },
      { model_name: 'not-listed', model_info: { max_input_tokens: 1 } },
    ],
  };

  beforeEach(() => {
    requests = [];
    process.env.DYNAMIC_MODELS_ALLOWED_HOSTS = new URL(baseURL).host;
    routes = {};
  });

  afterEach(() => {
    delete process.env.DYNAMIC_MODELS_ALLOWED_HOSTS;
    delete process.env.DYNAMIC_MODELS_TIMEOUT_MS;
    const logged = host.logText();
    host.logs.length = 0;
    if (logged.includes(SECRET) || logged.includes('127.0.0.1') || logged.includes('sk-upstream')) {
      throw new Error('a logger call contains a key or the URL');
    }
  });

  const call = (overrides = {}) =>
    fetchUserModelList({ name: 'Provider', baseURL, apiKey: SECRET, userProvidedURL: true, ...overrides });

  it('keeps OpenRouter’s name, description, context, prices and abilities, in one request', async () => {
    routes['/v1/models'] = json({
      data: [
        {
          id: 'anthropic/claude-3.5-sonnet',
          name: 'Anthropic: Claude 3.5 Sonnet',
          description: 'Fast.\nSmart.',
          context_length: 200000,
          pricing: { prompt: '0.000003', completion: '0.000015' },
          top_provider: { max_completion_tokens: 8192 },
          architecture: { input_modalities: ['text', 'image'] },
          supported_parameters: ['temperature', 'tools'],
        },
        {
          id: 'meta/llama:free',
          context_length: 8192,
          pricing: { prompt: '0', completion: '0' },
          architecture: { input_modalities: ['text'] },
          supported_parameters: ['temperature'],
        },
      ],
    });
    const result = await call();
    expect(requests).toHaveLength(1);
    expect(result.models).toEqual(['anthropic/claude-3.5-sonnet', 'meta/llama:free']);
    expect(result.meta['anthropic/claude-3.5-sonnet']).toEqual({
      label: 'Anthropic: Claude 3.5 Sonnet',
      description: 'Fast. Smart.',
      contextWindow: 200000,
      maxOutputTokens: 8192,
      inputPrice: 3,
      outputPrice: 15,
      capabilities: ['vision', 'tools'],
    });
    expect(result.meta['meta/llama:free']).toEqual({
      contextWindow: 8192,
      inputPrice: 0,
      outputPrice: 0,
      lacks: ['vision', 'tools'],
    });
    expect(result.tokenConfig).toEqual({
      'anthropic/claude-3.5-sonnet': { prompt: 3, completion: 15, context: 200000 },
      'meta/llama:free': { prompt: 0, completion: 0, context: 8192 },
    });
  });

  it('keeps vLLM’s max_model_len as the context window', async () => {
    routes['/v1/models'] = json({
      data: [{ id: 'Qwen/Qwen2.5-7B', object: 'model', owned_by: 'vllm', max_model_len: 32768 }],
    });
    const result = await call();
    expect(result.meta).toEqual({ 'Qwen/Qwen2.5-7B': { contextWindow: 32768 } });
    expect(result.tokenConfig).toEqual({ 'Qwen/Qwen2.5-7B': { context: 32768 } });
    expect(requests).toHaveLength(1);
  });

  it('makes no second request and keeps no metadata for a bare OpenAI-style list', async () => {
    routes['/v1/models'] = json({ data: [{ id: 'm1', object: 'model', owned_by: 'openai' }] });
    expect(await call()).toEqual({ models: ['m1'] });
    expect(requests).toHaveLength(1);
  });

  it('asks a LiteLLM proxy (x-litellm-* headers) for /model/info once, with the same key', async () => {
    routes['/v1/models'] = json(
      { data: [{ id: 'gpt-4o' }, { id: 'local-llama' }] },
      { 'x-litellm-version': '1.50.0' },
    );
    routes['/v1/model/info'] = json(liteLLMInfo);
    const result = await call();
    expect(requests.map((request) => request.url)).toEqual(['/v1/models', '/v1/model/info']);
    expect(requests[1].headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(result.meta).toEqual({
      'gpt-4o': {
        contextWindow: 128000,
        maxOutputTokens: 16384,
        inputPrice: 2.5,
        outputPrice: 10,
        capabilities: ['vision', 'tools'],
      },
      'local-llama': { lacks: ['vision'] },
    });
    expect(JSON.stringify(result)).not.toContain('sk-upstream');
  });

  it('reads no price from LiteLLM’s 0, its default for a model it has no price for (never "free")', async () => {
    routes['/v1/models'] = json({ data: [{ id: 'self-hosted' }, { id: 'gpt-4o' }] });
    /** What LiteLLM 1.80.0 answers for a deployment configured without prices: get_model_info
     * "has no input_cost_per_token in model_cost_map. Defaulting to 0." */
    routes['/v1/model/info'] = json({
      data: [
        {
          model_name: 'self-hosted',
          model_info: { max_input_tokens: 32768, input_cost_per_token: 0, output_cost_per_token: 0 },
        },
        {
          model_name: 'gpt-4o',
          model_info: { max_input_tokens: 128000, input_cost_per_token: 0.0000025, output_cost_per_token: 0 },
        },
      ],
    });
    const result = await call({ metadata: 'litellm' });
    expect(result.meta['self-hosted']).toEqual({ contextWindow: 32768 });
    expect(result.meta['gpt-4o']).toEqual({ contextWindow: 128000, inputPrice: 2.5 });
    expect(result.tokenConfig).toEqual({
      'self-hosted': { context: 32768 },
      'gpt-4o': { context: 128000 },
    });
  });

  it('asks /model/info for models.metadata: litellm even when the answer does not name LiteLLM', async () => {
    routes['/v1/models'] = json({ data: [{ id: 'gpt-4o' }] });
    routes['/v1/model/info'] = json(liteLLMInfo);
    const result = await call({ metadata: 'litellm' });
    expect(requests).toHaveLength(2);
    expect(result.meta['gpt-4o'].contextWindow).toBe(128000);
  });

  it('keeps the list when /model/info fails, and logs a category only', async () => {
    routes['/v1/models'] = json({ data: [{ id: 'gpt-4o' }] }, { 'x-litellm-version': '1' });
    routes['/v1/model/info'] = (req, res) => {
      res.statusCode = 500;
      res.end(JSON.stringify({ error: `bad key ${SECRET}` }));
    };
    expect(await call()).toEqual({ models: ['gpt-4o'] });
    expect(host.logText()).toContain('Provider: metadata unreachable (HTTP 500)');
  });

  it('gives /model/info only what is left of the list’s deadline', async () => {
    process.env.DYNAMIC_MODELS_TIMEOUT_MS = '400';
    routes['/v1/models'] = (req, res) =>
      setTimeout(() => json({ data: [{ id: 'gpt-4o' }] }, { 'x-litellm-version': '1' })(req, res), 200);
    routes['/v1/model/info'] = () => undefined; // never answers
    const started = Date.now();
    expect(await call()).toEqual({ models: ['gpt-4o'] });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(host.logText()).toContain('Provider: metadata timeout');
  });

  it('bounds what it keeps: lengths, numbers, the number of models with metadata', async () => {
    const many = Array.from({ length: 2500 }, (_, i) => ({ id: `m${i}`, context_length: 1000 + i }));
    routes['/v1/models'] = json({
      data: [
        {
          id: '__proto__',
          name: 'x'.repeat(500),
          description: 'd'.repeat(5000),
          context_length: -5,
          pricing: { prompt: 'NaN', completion: '-1' },
        },
        ...many,
      ],
    });
    const result = await call();
    expect(result.models).toHaveLength(2501);
    expect(Object.keys(result.meta)).toHaveLength(2000);
    const odd = Object.getOwnPropertyDescriptor(result.meta, '__proto__').value;
    expect(Array.from(odd.label)).toHaveLength(128);
    expect(Array.from(odd.description)).toHaveLength(300);
    expect(odd).not.toHaveProperty('contextWindow');
    expect(odd).not.toHaveProperty('inputPrice');
    expect(odd).not.toHaveProperty('outputPrice');
  });
});
