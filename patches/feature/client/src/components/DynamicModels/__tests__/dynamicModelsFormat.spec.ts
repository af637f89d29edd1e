import {
  DYNAMIC_MODELS_REASONS,
  describeDefaultsReason,
  describeFetchedAt,
  describeModelMeta,
  formatPrice,
  formatTokenCount,
  groupModelsByPrefix,
  localizePhrase,
  modelTooltip,
  retryAfterSeconds,
} from '../dynamicModelsFormat';
import type { TDynamicModelsPhrase } from '../dynamicModelsFormat';

const MINUTE = 60 * 1000;
const NOW = 1_700_000_000_000;

/** The release's English strings: locales/en/translation.json from v0.7.7, localization/languages/Eng.ts before */
function englishStrings(): Record<string, string> {
  try {
    return jest.requireActual('~/locales/en/translation.json');
  } catch {
    return jest.requireActual('~/localization/languages/Eng').default;
  }
}

describe('formatTokenCount', () => {
  it.each([
    [128000, '128K'],
    [131072, '128K'],
    [200000, '200K'],
    [1048576, '1M'],
    [2000000, '2M'],
    [1500, '1.5K'],
    [512, '512'],
  ])('%d tokens as %s', (tokens, text) => {
    expect(formatTokenCount(tokens)).toBe(text);
  });
});

describe('formatPrice', () => {
  it.each([
    [2.5, '$2.50'],
    [600, '$600.00'],
    [0.075, '$0.075'],
    [0.15, '$0.15'],
  ])('%d USD per 1M as %s', (price, text) => {
    expect(formatPrice(price)).toBe(text);
  });
});

describe('describeModelMeta', () => {
  it('context, prices and badges in order, only what is known', () => {
    expect(
      describeModelMeta({
        contextWindow: 128000,
        inputPrice: 2.5,
        outputPrice: 10,
        capabilities: ['tools', 'vision'],
      }),
    ).toEqual([
      { key: 'com_ui_dynamic_models_context', values: { 0: '128K' } },
      { key: 'com_ui_dynamic_models_price', values: { 0: '$2.50', 1: '$10.00' } },
      { key: 'com_ui_dynamic_models_vision' },
      { key: 'com_ui_dynamic_models_tools' },
    ]);
    expect(describeModelMeta({ contextWindow: 8192 })).toEqual([
      { key: 'com_ui_dynamic_models_context', values: { 0: '8K' } },
    ]);
    expect(describeModelMeta(undefined)).toEqual([]);
    expect(describeModelMeta({ label: 'x' })).toEqual([]);
  });

  it('a price needs both figures; both zero reads free', () => {
    expect(describeModelMeta({ inputPrice: 1 })).toEqual([]);
    expect(describeModelMeta({ inputPrice: 0, outputPrice: 0 })).toEqual([
      { key: 'com_ui_dynamic_models_free' },
    ]);
  });
});

describe('modelTooltip', () => {
  it('shows the raw id under a label, then the description', () => {
    expect(modelTooltip('openai/gpt-4o', { label: 'GPT-4o', description: 'Omni' })).toBe(
      'openai/gpt-4o\nOmni',
    );
    expect(modelTooltip('gpt-4o', { description: 'Omni' })).toBe('Omni');
    expect(modelTooltip('gpt-4o', { label: 'gpt-4o' })).toBe('');
  });
});

describe('groupModelsByPrefix', () => {
  it('groups by provider/ in order of first appearance, ids without a prefix last', () => {
    expect(
      groupModelsByPrefix(['openai/a', 'plain', 'anthropic/b', 'openai/c', '/odd', 'other']),
    ).toEqual([
      { prefix: 'openai', ids: ['openai/a', 'openai/c'] },
      { prefix: 'anthropic', ids: ['anthropic/b'] },
      { prefix: null, ids: ['plain', '/odd', 'other'] },
    ]);
    expect(groupModelsByPrefix([])).toEqual([]);
  });
});

describe('describeFetchedAt', () => {
  it.each([
    [null, { key: 'com_ui_dynamic_models_never' }],
    [NOW - 30 * 1000, { key: 'com_ui_dynamic_models_updated_now' }],
    [NOW - MINUTE, { key: 'com_ui_dynamic_models_updated_minute' }],
    [NOW - 7 * MINUTE, { key: 'com_ui_dynamic_models_updated_minutes', values: { 0: 7 } }],
    [NOW - 61 * MINUTE, { key: 'com_ui_dynamic_models_updated_hour' }],
    [NOW - 180 * MINUTE, { key: 'com_ui_dynamic_models_updated_hours', values: { 0: 3 } }],
    [NOW + MINUTE, { key: 'com_ui_dynamic_models_updated_now' }],
  ])('fetched at %p', (fetchedAt, phrase) => {
    expect(describeFetchedAt(fetchedAt, NOW)).toEqual(phrase);
  });
});

describe('describeDefaultsReason', () => {
  it.each(DYNAMIC_MODELS_REASONS)('names %s when the defaults are shown', (error) => {
    expect(describeDefaultsReason({ source: 'default', fetchedAt: NOW, error })).toEqual({
      key: `com_ui_dynamic_models_reason_${error}`,
    });
  });

  it("covers the server's error categories except none", () => {
    expect([...DYNAMIC_MODELS_REASONS].sort()).toEqual(
      ['bad_response', 'blocked_url', 'canceled', 'filtered_out', 'filters_unavailable', 'timeout', 'unauthorized', 'unreachable'],
    );
  });

  it('a default list never fetched means no key; the user list has no reason', () => {
    expect(describeDefaultsReason({ source: 'default', fetchedAt: null })).toEqual({
      key: 'com_ui_dynamic_models_reason_no_key',
    });
    expect(describeDefaultsReason({ source: 'user', fetchedAt: NOW, error: 'timeout' })).toBeNull();
    expect(describeDefaultsReason(undefined)).toBeNull();
  });

  it('an error category it does not know still says the fetch failed', () => {
    const state = { source: 'default', fetchedAt: NOW, error: 'new_category' } as never;
    expect(describeDefaultsReason(state)).toEqual({ key: 'com_ui_dynamic_models_reason_failed' });
  });
});

describe('retryAfterSeconds', () => {
  it('reads retryAfter of a 429 answer, then its header, else a minute', () => {
    expect(retryAfterSeconds({ response: { status: 429, data: { error: 'rate_limited', retryAfter: 42 } } })).toBe(42);
    expect(retryAfterSeconds({ response: { status: 429, headers: { 'retry-after': '7' } } })).toBe(7);
    expect(retryAfterSeconds({ response: { status: 429 } })).toBe(60);
    expect(retryAfterSeconds({ response: { status: 500 } })).toBeNull();
    expect(retryAfterSeconds(new Error('network'))).toBeNull();
  });
});

describe('every phrase is a key of the English translation', () => {
  it('names no key that the release’s English strings lack', () => {
    const phrases: TDynamicModelsPhrase[] = [
      ...describeModelMeta({ contextWindow: 1, inputPrice: 1, outputPrice: 1, capabilities: ['vision', 'tools'] }),
      ...describeModelMeta({ inputPrice: 0, outputPrice: 0 }),
      ...[null, NOW, NOW - MINUTE, NOW - 5 * MINUTE, NOW - 60 * MINUTE, NOW - 300 * MINUTE].map((at) =>
        describeFetchedAt(at, NOW),
      ),
      ...[...DYNAMIC_MODELS_REASONS, 'x', undefined].map(
        (error) => describeDefaultsReason({ source: 'default', fetchedAt: error ? NOW : null, error } as never)!,
      ),
      { key: 'com_ui_dynamic_models_refresh' },
      { key: 'com_ui_dynamic_models_refreshing' },
      { key: 'com_ui_dynamic_models_rate_limited' },
      { key: 'com_ui_dynamic_models_group_other' },
    ];
    const english = englishStrings();
    const missing = phrases.map(({ key }) => key).filter((key) => !(key in english));
    expect(missing).toEqual([]);
  });
});

describe('localizePhrase', () => {
  /** LibreChat's i18next `localize` (v0.7.7 and later): `{{0}}`, a variable it is not given stays */
  const i18next = (key: string, options?: Record<string, unknown>) =>
    ({ price: '{{0}} / {{1}} per 1M', refresh: 'Refresh the models of {{0}}' })[key]?.replace(
      /\{\{(\w+)\}\}/g,
      (match, name) => (options?.[name] === undefined ? match : String(options[name])),
    ) ?? key;
  /** LibreChat's `localize(key, ...values)` of v0.7.5 and v0.7.6 (`String.prototype.format`): `{0}` */
  const positional = (key: string, ...values: string[]) =>
    ({ price: '{0} / {1} per 1M', refresh: 'Refresh the models of {0}' })[key]?.replace(
      /{(\d+)}/g,
      (match, position) => (typeof values[position] !== 'undefined' ? values[position] : match),
    ) ?? key;

  it.each([
    ['i18next', i18next],
    ['positional', positional],
  ])('fills the values into the %s strings', (_, localize) => {
    expect(localizePhrase(localize, { key: 'price', values: { 0: '$2.50', 1: '$10.00' } })).toBe(
      '$2.50 / $10.00 per 1M',
    );
    expect(localizePhrase(localize, { key: 'refresh', values: { 0: 'LiteLLM' } })).toBe(
      'Refresh the models of LiteLLM',
    );
    expect(localizePhrase(localize, { key: 'refresh' })).toMatch(/^Refresh the models of \{+0\}+$/);
  });

  it('never reads a value as a placeholder, and keeps one it has no value for', () => {
    expect(localizePhrase(positional, { key: 'price', values: { 0: '{1}' } })).toBe('{1} / {1} per 1M');
    expect(localizePhrase(i18next, { key: 'price', values: { 0: '{{1}}', 1: 'x' } })).toBe(
      '{{1}} / x per 1M',
    );
  });
});
