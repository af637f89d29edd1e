import closestModel, { CLOSEST_MODEL_EDIT_CANDIDATES } from '../closestModel';

describe('closestModel', () => {
  it('offers the same provider’s model before a closer name of another provider', () => {
    const list = ['anthropic/claude-3-5-sonnet', 'openai/gpt-4o-mini', 'openai/gpt-4.1'];
    expect(closestModel('openai/gpt-4o', list)).toBe('openai/gpt-4o-mini');
    expect(closestModel('anthropic/claude-3-opus', list)).toBe('anthropic/claude-3-5-sonnet');
  });

  it('prefers shared tokens, then the smaller edit distance, then list order', () => {
    const list = ['llama-3.1-8b', 'claude-3-5-sonnet-20241022', 'claude-3-haiku'];
    expect(closestModel('claude-3-5-sonnet-20240620', list)).toBe('claude-3-5-sonnet-20241022');
    expect(closestModel('GPT-4o', ['gpt-4', 'gpt-4o-2024'])).toBe('gpt-4o-2024');
    expect(closestModel('zzz', ['b', 'a'])).toBe('b');
  });

  it('falls back to the whole list when no listed model has the provider prefix', () => {
    expect(closestModel('gone/mistral-large', ['mistral-large-latest', 'qwen'])).toBe(
      'mistral-large-latest',
    );
  });

  it('offers nothing for an empty list or a model that is listed', () => {
    expect(closestModel('a', [])).toBeNull();
    expect(closestModel('a', ['a', 'b'])).toBeNull();
  });

  it('compares at most a bounded number of ids by edit distance among 10,000', () => {
    const list = Array.from({ length: 10000 }, (_, i) => `vendor/model-${i}-chat`);
    list.push('vendor/model-x-chat-best');
    expect(closestModel('vendor/model-x-chat-bes', list)).toBe('vendor/model-x-chat-best');
    expect(CLOSEST_MODEL_EDIT_CANDIDATES).toBeLessThanOrEqual(64);
  });
});
