import type { TDynamicModelMeta, TDynamicModelsSource } from 'librechat-data-provider';

/**
 * A localisation request: a key of the release's English strings (client/src/locales/en/translation.json
 * from v0.7.7, client/src/localization/languages/Eng.ts before) and its values
 */
export type TDynamicModelsPhrase = { key: string; values?: Record<string, string | number> };

/** LibreChat's `localize` of any release, asked for a key alone (see {@link localizePhrase}) */
export type TLocalizeKey = (phraseKey: never) => unknown;

const PLACEHOLDER = /\{\{\s*(\w+)\s*\}\}|\{(\d+)\}/g;

/**
 * The text of a phrase: LibreChat's string for its key through the release's own `localize`
 * (its language and fallback), asked without values, then its placeholders filled here in one
 * pass (a value that looks like a placeholder stays as it is). The releases disagree on how values
 * are passed: i18next's `localize(key, { 0: value })` with `{{0}}` in the strings from v0.7.7,
 * `localize(key, ...values)` with `{0}` before (it prints an object of values as "[object Object]").
 * Asked for the key alone, both give the string as written: i18next leaves a variable it was not
 * given, v0.7.5's `format` a position it was not given.
 */
export function localizePhrase(localize: TLocalizeKey, { key, values }: TDynamicModelsPhrase): string {
  const text = String(localize(key as never) ?? '');
  if (!values) {
    return text;
  }
  return text.replace(PLACEHOLDER, (match, name?: string, position?: string) => {
    const value = values[(name ?? position) as string];
    return value === undefined ? match : String(value);
  });
}

/** Context windows in tokens: 131072 as "128K", 200000 as "200K", 1048576 as "1M" */
export function formatTokenCount(tokens: number): string {
  if (!Number.isFinite(tokens) || tokens <= 0) {
    return '';
  }
  const round = (value: number) => `${Number(value.toFixed(value < 10 ? 1 : 0))}`;
  /** 128000 is decimal, 131072 binary (128 * 1024) */
  const binary = tokens % 1000 !== 0 && tokens % 1024 === 0;
  const mega = binary ? 1024 * 1024 : 1000 * 1000;
  const kilo = binary ? 1024 : 1000;
  if (tokens >= mega) {
    return `${round(tokens / mega)}M`;
  }
  if (tokens >= kilo) {
    return `${round(tokens / kilo)}K`;
  }
  return `${tokens}`;
}

/** A price in USD per 1M tokens: 2.5 as "$2.50", 0.075 as "$0.075" */
export function formatPrice(usdPerMillion: number): string {
  if (usdPerMillion >= 1) {
    return `$${usdPerMillion.toFixed(2)}`;
  }
  return `$${Number(usdPerMillion.toPrecision(2))}`;
}

const isPrice = (value: unknown): value is number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** What a model row shows beside its name, in this order; empty when nothing is known */
export function describeModelMeta(meta: TDynamicModelMeta | undefined): TDynamicModelsPhrase[] {
  if (!meta) {
    return [];
  }
  const phrases: TDynamicModelsPhrase[] = [];
  if (typeof meta.contextWindow === 'number' && meta.contextWindow > 0) {
    phrases.push({
      key: 'com_ui_dynamic_models_context',
      values: { 0: formatTokenCount(meta.contextWindow) },
    });
  }
  if (isPrice(meta.inputPrice) && isPrice(meta.outputPrice)) {
    phrases.push(
      meta.inputPrice === 0 && meta.outputPrice === 0
        ? { key: 'com_ui_dynamic_models_free' }
        : {
            key: 'com_ui_dynamic_models_price',
            values: { 0: formatPrice(meta.inputPrice), 1: formatPrice(meta.outputPrice) },
          },
    );
  }
  const capabilities = meta.capabilities ?? [];
  if (capabilities.includes('vision')) {
    phrases.push({ key: 'com_ui_dynamic_models_vision' });
  }
  if (capabilities.includes('tools')) {
    phrases.push({ key: 'com_ui_dynamic_models_tools' });
  }
  return phrases;
}

/** The hover text of a model row: the raw id under a label, then the description */
export function modelTooltip(modelId: string, meta: TDynamicModelMeta | undefined): string {
  const lines: string[] = [];
  if (meta?.label && meta.label !== modelId) {
    lines.push(modelId);
  }
  if (meta?.description) {
    lines.push(meta.description);
  }
  return lines.join('\n');
}

/** Ids grouped by their `provider/` prefix, in order of first appearance; ids without one last */
export function groupModelsByPrefix(modelIds: string[]): { prefix: string | null; ids: string[] }[] {
  const groups = new Map<string | null, string[]>();
  for (const id of modelIds) {
    const slash = id.indexOf('/');
    const prefix = slash > 0 ? id.slice(0, slash) : null;
    const group = groups.get(prefix) ?? [];
    group.push(id);
    groups.set(prefix, group);
  }
  const ordered = [...groups.entries()].filter(([prefix]) => prefix !== null);
  const rest = groups.get(null);
  if (rest?.length) {
    ordered.push([null, rest]);
  }
  return ordered.map(([prefix, ids]) => ({ prefix, ids }));
}

const MINUTE = 60 * 1000;

/** "updated N minutes ago" of a list fetched at `fetchedAt` (epoch ms), seen at `now` */
export function describeFetchedAt(fetchedAt: number | null | undefined, now: number): TDynamicModelsPhrase {
  if (fetchedAt == null) {
    return { key: 'com_ui_dynamic_models_never' };
  }
  const minutes = Math.max(0, Math.floor((now - fetchedAt) / MINUTE));
  if (minutes < 1) {
    return { key: 'com_ui_dynamic_models_updated_now' };
  }
  if (minutes === 1) {
    return { key: 'com_ui_dynamic_models_updated_minute' };
  }
  if (minutes < 60) {
    return { key: 'com_ui_dynamic_models_updated_minutes', values: { 0: minutes } };
  }
  const hours = Math.floor(minutes / 60);
  return hours === 1
    ? { key: 'com_ui_dynamic_models_updated_hour' }
    : { key: 'com_ui_dynamic_models_updated_hours', values: { 0: hours } };
}

/** The error categories of `dynamic[endpoint].error` this client names (others: "could not be refreshed") */
export const DYNAMIC_MODELS_REASONS = [
  'unauthorized',
  'unreachable',
  'timeout',
  'bad_response',
  'blocked_url',
  'canceled',
  'filtered_out',
  'filters_unavailable',
] as const;

const REASONS = new Set<string>(DYNAMIC_MODELS_REASONS);

/**
 * Why the defaults are shown, `null` when the user's own list is shown. A default list with no
 * error and no fetch means the user has no key (or URL) for the endpoint.
 */
export function describeDefaultsReason(state: TDynamicModelsSource | undefined): TDynamicModelsPhrase | null {
  if (!state || state.source !== 'default') {
    return null;
  }
  if (state.error && REASONS.has(state.error)) {
    return { key: `com_ui_dynamic_models_reason_${state.error}` };
  }
  if (state.error) {
    return { key: 'com_ui_dynamic_models_reason_failed' };
  }
  return state.fetchedAt == null ? { key: 'com_ui_dynamic_models_reason_no_key' } : null;
}

/** Seconds until a rate-limited refresh may run again, from a 429 answer; `null` for other errors */
export function retryAfterSeconds(error: unknown): number | null {
  const response = (error as { response?: { status?: number; data?: unknown; headers?: unknown } })
    ?.response;
  if (response?.status !== 429) {
    return null;
  }
  const data = response.data as { retryAfter?: unknown } | undefined;
  const headers = response.headers as Record<string, unknown> | undefined;
  const value = Number(data?.retryAfter ?? headers?.['retry-after']);
  return Number.isFinite(value) && value > 0 ? Math.ceil(value) : 60;
}
