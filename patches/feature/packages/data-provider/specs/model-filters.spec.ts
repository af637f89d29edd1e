import { EModelEndpoint } from '../src/schemas';
import { configSchema } from '../src/config';
import {
  compileModelPattern,
  createModelFilter,
  filterModelList,
  findModelPatternProblems,
} from '../src/modelFilters';

const fetched = [
  'gpt-4o',
  'gpt-4o-mini',
  'GPT-4.1',
  'gpt-3.5-turbo',
  'claude-3-5-sonnet',
  'text-embedding-3-small',
  'whisper-1',
  'dall-e-3',
  'openai/gpt-4o',
];

describe('model patterns', () => {
  it('matches globs against the whole id, ignoring case', () => {
    expect(compileModelPattern('gpt-4*').test('GPT-4.1')).toBe(true);
    expect(compileModelPattern('gpt-4*').test('openai/gpt-4o')).toBe(false);
    expect(compileModelPattern('*gpt-4*').test('openai/gpt-4o')).toBe(true);
    expect(compileModelPattern('whisper-?').test('whisper-1')).toBe(true);
    expect(compileModelPattern('gpt-4o').test('gpt-4o-mini')).toBe(false);
  });

  it('treats regular expression characters in a glob literally', () => {
    expect(compileModelPattern('gpt-4.1').test('gpt-401')).toBe(false);
    expect(compileModelPattern('(a|b)').test('a')).toBe(false);
  });

  it('searches regular expressions written between slashes, with their flags', () => {
    expect(compileModelPattern('/^dall-e/').test('dall-e-3')).toBe(true);
    expect(compileModelPattern('/embedding/').test('text-embedding-3-small')).toBe(true);
    expect(compileModelPattern('/^GPT/').test('gpt-4o')).toBe(false);
    expect(compileModelPattern('/^GPT/i').test('gpt-4o')).toBe(true);
  });

  it.each([
    ['', 'empty pattern'],
    ['/gpt', 'not closed'],
    ['//', 'empty regular expression'],
    ['/gpt/g', 'unsupported flags "g"'],
    ['/(gpt/', 'invalid regular expression'],
  ])('refuses %j: %s', (pattern, reason) => {
    expect(() => compileModelPattern(pattern)).toThrow(reason);
  });

  it('names the key and the pattern of each problem', () => {
    expect(findModelPatternProblems({ include: ['gpt-*'], exclude: ['/(/'] })).toEqual([
      expect.stringMatching(/^models\.exclude pattern "\/\(\/": invalid regular expression/),
    ]);
    expect(findModelPatternProblems(undefined)).toEqual([]);
  });
});

describe('filterModelList', () => {
  it('keeps the list as fetched without filters', () => {
    expect(filterModelList(fetched, undefined)).toBe(fetched);
    expect(filterModelList(fetched, { include: [], exclude: [] })).toBe(fetched);
    expect(createModelFilter({})).toBeNull();
  });

  it('keeps only ids matching one include pattern', () => {
    expect(filterModelList(fetched, { include: ['gpt-4*', 'claude-*'] })).toEqual([
      'gpt-4o',
      'gpt-4o-mini',
      'GPT-4.1',
      'claude-3-5-sonnet',
    ]);
  });

  it('then drops the ids matching an exclude pattern', () => {
    expect(
      filterModelList(fetched, {
        include: ['*gpt*', '*e*'],
        exclude: ['*embedding*', '*whisper*', '/^dall-e/', '*-mini'],
      }),
    ).toEqual(['gpt-4o', 'GPT-4.1', 'gpt-3.5-turbo', 'claude-3-5-sonnet', 'openai/gpt-4o']);
  });
});

describe('librechat.yaml schema', () => {
  const withModels = (models: Record<string, unknown>) => ({
    version: '1.0.0',
    endpoints: {
      [EModelEndpoint.custom]: [
        {
          name: 'LiteLLM',
          apiKey: 'user_provided',
          baseURL: 'https://litellm.example.com/v1',
          models: { default: ['gpt-4o-mini'], fetch: true, ...models },
        },
      ],
    },
  });

  it('validates and keeps models.include and models.exclude', () => {
    const result = configSchema.safeParse(
      withModels({ include: ['gpt-*'], exclude: ['/embedding/'] }),
    );
    expect(result.success).toBe(true);
    const models = result.success ? result.data.endpoints?.[EModelEndpoint.custom]?.[0]?.models : null;
    expect(models).toMatchObject({ include: ['gpt-*'], exclude: ['/embedding/'] });
  });

  it('refuses an invalid pattern with an error naming the endpoint', () => {
    const result = configSchema.safeParse(withModels({ exclude: ['/(/'] }));
    expect(result.success).toBe(false);
    const messages = result.success ? [] : result.error.issues.map((issue) => issue.message);
    expect(messages).toEqual([
      expect.stringMatching(/^Endpoint "LiteLLM": models\.exclude pattern "\/\(\/": invalid/),
    ]);
  });

  it('refuses a pattern that is not a string', () => {
    expect(configSchema.safeParse(withModels({ include: [4] })).success).toBe(false);
  });
});
