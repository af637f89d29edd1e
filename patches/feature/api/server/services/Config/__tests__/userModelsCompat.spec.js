const { mockUserModelsHost } = require('~/test/userModelsHost');

const host = mockUserModelsHost(jest);
const compat = require('../userModelsCompat');

/** What the shared modules (`userModels`, `userModelsFetch`, the controller) take from it */
const FUNCTIONS = [
  'isUserProvided',
  'normalizeEndpointName',
  'extractBaseURL',
  'resolveConfigSecret',
  'resolveHeaders',
  'loadAppConfig',
  'getUserKey',
  'getUserKeyExpiry',
  'getUserModelsCache',
  'tokenConfigTarget',
];

beforeEach(async () => {
  await host.reset();
  process.env.DM_COMPAT_SECRET = 'resolved-secret';
});

afterAll(() => {
  delete process.env.DM_COMPAT_SECRET;
});

describe('userModelsCompat of this release', () => {
  it('offers everything the shared modules use', () => {
    for (const name of FUNCTIONS) {
      expect([name, typeof compat[name]]).toEqual([name, 'function']);
    }
    expect(typeof compat.keepsConfiguredAuthorization).toBe('boolean');
    for (const level of ['warn', 'error']) {
      expect(typeof compat.logger[level]).toBe('function');
    }
  });

  it('logs through the logger this release configures', () => {
    compat.logger.warn('[dynamicModels] compat check');
    expect(host.logs).toEqual([['warn', '[dynamicModels] compat check']]);
  });

  it('recognizes user-provided values and names endpoints as the release does', () => {
    expect(compat.isUserProvided('user_provided')).toBe(true);
    expect(compat.isUserProvided('sk-admin')).toBe(false);
    expect(compat.normalizeEndpointName('LiteLLM')).toBe('LiteLLM');
  });

  it('resolves environment variables in config secrets and configured headers', () => {
    expect(compat.resolveConfigSecret('${DM_COMPAT_SECRET}')).toBe('resolved-secret');
    expect(compat.resolveConfigSecret(undefined)).toBe('');
    const headers = compat.resolveHeaders({ 'X-Org': '${DM_COMPAT_SECRET}' }, { id: 'u1' });
    expect(headers).toEqual({ 'X-Org': 'resolved-secret' });
  });

  it('reads a base URL out of a completions URL as the custom endpoint does', () => {
    expect(compat.extractBaseURL('https://api.example.com/v1/chat/completions')).toBe(
      'https://api.example.com/v1',
    );
  });

  it('loads the app config of this release', async () => {
    const config = { endpoints: { custom: [] } };
    host.setAppConfig(config);
    expect(await compat.loadAppConfig({ user: { id: 'u1', role: 'USER' } })).toBe(config);
    expect(host.getAppConfig).toHaveBeenCalledTimes(1);
  });

  it('reads user keys where this release keeps them', async () => {
    host.saveKey('u1', 'LiteLLM', { apiKey: 'sk-user' }, 'never');
    expect(JSON.parse(await compat.getUserKey({ userId: 'u1', name: 'LiteLLM' }))).toEqual({
      apiKey: 'sk-user',
    });
    expect(await compat.getUserKeyExpiry({ userId: 'u1', name: 'LiteLLM' })).toEqual({
      expiresAt: 'never',
    });
  });

  it('keeps the per-user lists in a store of its own', async () => {
    const cache = compat.getUserModelsCache();
    expect(compat.getUserModelsCache()).toBe(cache);
    await cache.set('u1:LiteLLM', { models: ['a'] }, 1000);
    expect(await cache.get('u1:LiteLLM')).toEqual({ models: ['a'] });
    await cache.delete('u1:LiteLLM');
    expect(await cache.get('u1:LiteLLM')).toBeUndefined();
  });

  it('names where this release reads a user’s token configuration back', async () => {
    const req = { user: { id: 'u1' } };
    const config = { name: 'LiteLLM', apiKey: 'user_provided', baseURL: 'https://x.example/v1' };
    const endpoint = { name: 'LiteLLM', config };
    const target = compat.tokenConfigTarget(req, endpoint);
    expect(target.key).toContain('u1');
    await target.store.set(target.key, { m: { context: 8192 } });
    expect(await target.store.get(target.key)).toEqual({ m: { context: 8192 } });
    const configured = { ...endpoint, config: { ...endpoint.config, tokenConfig: { m: {} } } };
    if (!host.layout.native || !compat.keepsConfiguredAuthorization) {
      /** Before v0.8.7 a configured tokenConfig wins over the user's: nothing to write */
      expect(compat.tokenConfigTarget(req, configured)).toBeNull();
    }
  });
});
