import { EModelEndpoint } from '../src/schemas';
import { configSchema } from '../src/config';
import {
  compileModelPattern,
  createModelFilter,
  filterModelList,
  findModelPatternProblems,
  findModelsConfigProblems,
  filterModelsByMeta,
  judgeModelMeta,
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

  it('matches globs as the regular expression they stand for would', () => {
    let seed = 7;
    const pick = (chars: string, max: number) =>
      Array.from({ length: (seed = (seed * 48271) % 2147483647) % max }, () =>
        chars.charAt((seed = (seed * 48271) % 2147483647) % chars.length),
      ).join('');
    for (let round = 0; round < 1000; round += 1) {
      const glob = pick('aA?*bß-ı.', 8) || '*';
      const id = pick('aAbBßSı.\n-', 10);
      const source = glob
        .replace(/[.+^${}()|[\]\\/-]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.');
      expect([glob, id, compileModelPattern(glob).test(id)]).toEqual([
        glob,
        id,
        new RegExp(`^${source}$`, 'is').test(id),
      ]);
    }
  });

  it('refuses regular expressions that can backtrack without bound, with the reason', () => {
    expect(findModelPatternProblems({ include: ['/^([\\w.]+-?)+:free$/'] })).toEqual([
      'models.include pattern "/^([\\w.]+-?)+:free$/": can be too slow to match: a repeated group ' +
        'may hold no quantifier and no "|" (it can backtrack catastrophically)',
    ]);
    const reasons: Array<[string, string]> = [
      ['/(a|ab)*c/', 'a repeated group may hold no quantifier'],
      ['/(\\w)x\\1/', 'back-references are not allowed'],
      ['/gpt(?!-mini)/', 'lookarounds are not allowed'],
      ['/a*b/', '*, + and {n,} need the expression to start with ^'],
      ['/^a*b/m', '*, + and {n,} need the expression to start with ^'],
      ['/^.*a.*x$/', '*, + and {n,} may be used once per expression'],
      ['/a?a?a?b/', 'backtracking steps per model id'],
      ['/a{0,9}b/', 'backtracking steps per model id'],
      [`*${'?'.repeat(32)}*`, 'the text between two "*" is at most 31 characters'],
    ];
    for (const [pattern, reason] of reasons) {
      expect(() => compileModelPattern(pattern)).toThrow(reason);
    }
  });

  it('keeps the regular expressions admins write, with their meaning', () => {
    const kept = (pattern: string, ids: string[]) =>
      ids.filter((id) => compileModelPattern(pattern).test(id));
    expect(kept('/^gpt-4o(-mini)?$/', ['gpt-4o', 'gpt-4o-mini', 'gpt-4o-nano'])).toEqual([
      'gpt-4o',
      'gpt-4o-mini',
    ]);
    expect(kept('/-\\d{4}-\\d{2}-\\d{2}$/', ['gpt-4o-2024-08-06', 'gpt-4o-24-08-06'])).toEqual([
      'gpt-4o-2024-08-06',
    ]);
    expect(kept('/^openai\\/.*-mini$/i', ['OpenAI/o4-mini', 'openai/gpt-4o'])).toEqual([
      'OpenAI/o4-mini',
    ]);
    expect(kept('/^a{2,3}b$/', ['ab', 'aab', 'aaab', 'aaaab'])).toEqual(['aab', 'aaab']);
    expect(kept('/^(?<family>gpt|o[134])(-mini|-nano)?$/', ['o3-mini', 'gpt', 'o2'])).toEqual([
      'o3-mini',
      'gpt',
    ]);
    expect(kept('/^\\u{1F600}{2}$/u', ['\u{1F600}\u{1F600}', '\u{1F600}'])).toEqual([
      '\u{1F600}\u{1F600}',
    ]);
  });

  it('filters a worst-case list (10,000 ids of 256 characters) in under 50 ms per pattern', () => {
    const list = (unit: string) =>
      Array.from({ length: 10000 }, () => unit.repeat(256).slice(0, 256));
    const worst: Array<[string, string]> = [
      ['/a{0,3}b/', 'a'], // the most a loop may cost unanchored
      ['/^.*(a|b|c|d|e)x$/', 'a'], // the one unbounded quantifier of an anchored expression
      ['/(a|b|c|d)(a|b|c)x/', 'a'],
      ['/-\\d{4}-\\d{2}-\\d{2}$/', '-1111'],
      [`*${'a?'.repeat(15)}b*`, 'a'], // the longest text between two stars
      [`*${'a'.repeat(30)}b*${'a'.repeat(30)}b*`, 'a'],
      ['*a*a*a*a*a*a*a*a*a*a*a*a*x', 'a'],
      ['*ä?ä*', 'ß'], // case folding unit by unit
    ];
    for (const [pattern, unit] of worst) {
      expect(findModelPatternProblems({ include: [pattern] })).toEqual([]);
      const models = list(unit);
      filterModelList(models.slice(0, 100), { include: [pattern] }); // compiled and warm
      const started = process.cpuUsage();
      filterModelList(models, { include: [pattern] });
      const used = process.cpuUsage(started);
      const ms = (used.user + used.system) / 1000;
      expect([pattern, ms < 50 ? 'under 50 ms' : `${ms} ms`]).toEqual([pattern, 'under 50 ms']);
    }
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
    const models = result.success
      ? result.data.endpoints?.[EModelEndpoint.custom]?.[0]?.models
      : null;
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

describe('models.filters: by what a model is', () => {
  const meta = {
    pricey: { inputPrice: 150, outputPrice: 600, capabilities: ['vision' as const, 'tools' as const] },
    free: { inputPrice: 0, outputPrice: 0, lacks: ['vision' as const], capabilities: ['tools' as const] },
    halfKnown: { inputPrice: 0 },
  };
  const models = ['pricey', 'free', 'halfKnown', 'unknown'];

  it('drops only what the metadata contradicts, keeps the rest marked unchecked', () => {
    expect(filterModelsByMeta(models, meta, { maxInputPrice: 10, maxOutputPrice: 10 })).toEqual({
      models: ['free', 'halfKnown', 'unknown'],
      meta: {
        free: meta.free,
        halfKnown: { inputPrice: 0, unchecked: ['maxOutputPrice'] },
        unknown: { unchecked: ['maxInputPrice', 'maxOutputPrice'] },
      },
    });
  });

  it('keeps free models for freeOnly (both prices 0), unknown ones marked', () => {
    const { models: kept, meta: keptMeta } = filterModelsByMeta(models, meta, { freeOnly: true });
    expect(kept).toEqual(['free', 'halfKnown', 'unknown']);
    expect(keptMeta.halfKnown.unchecked).toEqual(['freeOnly']);
  });

  it('requires abilities: known lacking drops, unknown is kept and marked', () => {
    expect(judgeModelMeta(meta.pricey, { require: ['vision', 'tools'] })).toEqual({ keep: true, unchecked: [] });
    expect(judgeModelMeta(meta.free, { require: ['vision'] }).keep).toBe(false);
    expect(judgeModelMeta(undefined, { require: ['vision', 'tools'] })).toEqual({
      keep: true,
      unchecked: ['vision', 'tools'],
    });
  });

  it('passes everything through without filters, and never reads the prototype', () => {
    expect(filterModelsByMeta(models, meta, {}).models).toEqual(models);
    const result = filterModelsByMeta(['constructor', '__proto__'], {}, { maxInputPrice: 1 });
    expect(result.models).toEqual(['constructor', '__proto__']);
    expect(Object.getOwnPropertyDescriptor(result.meta, '__proto__')?.value).toEqual({
      unchecked: ['maxInputPrice'],
    });
  });

  it('checks the new keys under models: with the config schema and for doctor alike', () => {
    const endpoint = (extra: object) => ({
      version: '1.2.1',
      endpoints: {
        custom: [
          {
            name: 'OpenRouter',
            apiKey: 'user_provided',
            baseURL: 'https://openrouter.ai/api/v1',
            models: { default: ['a'], fetch: true, ...extra },
          },
        ],
      },
    });
    const good = {
      filters: { maxInputPrice: 5, maxOutputPrice: 20, freeOnly: false, require: ['vision', 'tools'] },
      labels: { a: 'Model A' },
      groupBy: 'prefix',
      metadata: 'litellm',
    };
    const parsed = configSchema.safeParse(endpoint(good));
    expect(parsed.success).toBe(true);
    const custom = parsed.success ? parsed.data.endpoints?.[EModelEndpoint.custom] : undefined;
    expect(custom?.[0]?.models).toMatchObject(good);
    expect(findModelsConfigProblems({ default: ['a'], ...good })).toEqual([]);

    const bad = {
      filters: { maxInputPrice: '5', require: ['audio'], cheapOnly: true },
      labels: { a: '' },
      groupBy: 'vendor',
      metadata: 'openai',
    };
    expect(configSchema.safeParse(endpoint(bad)).success).toBe(false);
    const problems = findModelsConfigProblems(bad);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^models\.filters\.maxInputPrice: /),
        expect.stringMatching(/^models\.filters\.require\.0: /),
        expect.stringMatching(/^models\.filters: Unrecognized key/),
        expect.stringMatching(/^models\.labels\.a: /),
        expect.stringMatching(/^models\.groupBy: /),
        expect.stringMatching(/^models\.metadata: /),
      ]),
    );
  });
});
