import { z } from 'zod';
import type {
  TDynamicModelMeta,
  TDynamicModelCapability,
  TDynamicModelFilterKey,
} from './types/dynamicModels';

/**
 * `models.include` and `models.exclude` of a custom endpoint that fetches its models: which
 * fetched model ids are listed. A pattern is a glob (`*` any characters, `?` one character,
 * matched against the whole id, case-insensitive) or a regular expression between slashes
 * (`/^dall-e/i`, searched anywhere in the id; flags `i`, `m`, `s`, `u`).
 *
 * The ids come from each user's own provider, so matching must stay cheap whatever they are
 * (up to 10,000 ids of up to 256 characters). Globs are matched without `RegExp`, in linear
 * time. A regular expression runs on V8's backtracking engine, so only those whose backtracking
 * is bounded are accepted: no back-references or lookarounds, no repeated group that holds a
 * quantifier or `|`, `*`, `+` and `{n,}` only once and only after a leading `^`, and an upper
 * bound on the steps one id can take (`MAX_STEPS`).
 */
export type TModelFilters = {
  include?: string[];
  exclude?: string[];
};

/** Exported, so every build of the package has it: `verify --runtime` looks for it in dist */
export const DYNAMIC_MODELS_DATA_PROVIDER_MARKER = 'librechat-dynmodels:data-provider:model-filters';

export type ModelPattern = { test: (model: string) => boolean };

const REGEX_FLAGS = /^[imsu]*$/;
/** The longest model id the fetch keeps (userModelsFetch.js), and so the longest run a quantifier meets */
const MAX_ID_LENGTH = 256;
/** Backtracking steps one id may cost a regular expression, estimated from its shape (see `steps`) */
const MAX_STEPS = 9000;
/** What one iteration of a quantifier costs V8 next to a literal step (measured: loops are slow) */
const LOOP_WEIGHT = 8;
/** The text between two `*` of a glob: searched with one 31-bit word */
const MAX_GLOB_PART = 31;
/** `x{n}` of one character is written out up to this many times */
const MAX_UNROLLED = 64;
const COUNT = /^\{(\d+)(?:(,)(\d*))?\}/;

/** A parsed piece: its steps, its ways to end, and what the rules need to know of it */
type Shape = {
  steps: number;
  ends: number;
  quantified: boolean;
  alternation: boolean;
  unbounded: number;
  text: string;
  group: boolean;
};

const atomOf = (text: string): Shape => ({
  steps: 1,
  ends: 1,
  quantified: false,
  alternation: false,
  unbounded: 0,
  text,
  group: false,
});

/**
 * The regular expression's shape, read from its (already valid) source: steps estimate the nodes
 * of the backtracking tree of one attempt (a sequence A B costs A's steps plus, for each way A can
 * end, B's steps; an alternation the sum of its branches; `x{n,m}` up to m iterations ending in
 * m - n + 1 ways). Its text is the source with `x{n,m}` of one character written `x...x{0,m-n}`
 * (the same language; V8 runs a literal run much faster than a loop).
 * @throws {Error} with the reason when the pattern can backtrack without bound.
 */
function shapeOf(source: string, unicode: boolean): Shape {
  let i = 0;
  const sequence = (): Shape => {
    let shape: Shape = { ...atomOf(''), steps: 0 };
    while (i < source.length && source[i] !== '|' && source[i] !== ')') {
      const piece = quantify(atom());
      shape = {
        steps: shape.steps + shape.ends * piece.steps,
        ends: shape.ends * piece.ends,
        quantified: shape.quantified || piece.quantified,
        alternation: shape.alternation || piece.alternation,
        unbounded: shape.unbounded + piece.unbounded,
        text: shape.text + piece.text,
        group: false,
      };
    }
    return shape;
  };
  const alternation = (): Shape => {
    let shape = sequence();
    while (source[i] === '|') {
      i += 1;
      const branch = sequence();
      shape = {
        steps: shape.steps + branch.steps,
        ends: shape.ends + branch.ends,
        quantified: shape.quantified || branch.quantified,
        alternation: true,
        unbounded: shape.unbounded + branch.unbounded,
        text: `${shape.text}|${branch.text}`,
        group: false,
      };
    }
    return shape;
  };
  const atom = (): Shape => {
    const start = i;
    const char = source[i];
    if (char === '(') {
      if (/^\(\?(?:[=!]|<[=!])/.test(source.slice(i, i + 4))) {
        throw new Error('lookarounds are not allowed (they can make matching slow)');
      }
      if (source.startsWith('(?<', i)) {
        i = source.indexOf('>', i) + 1;
      } else if (source[i + 1] === '?') {
        if (!source.startsWith('(?:', i)) {
          throw new Error('only plain, (?:...) and (?<name>...) groups are allowed');
        }
        i += 3;
      } else {
        i += 1;
      }
      const opening = source.slice(start, i);
      const inner = alternation();
      i += 1; // ')'
      return { ...inner, text: `${opening}${inner.text})`, group: true };
    }
    if (char === '[') {
      i += 1;
      if (source[i] === '^') {
        i += 1;
      }
      while (i < source.length && source[i] !== ']') {
        i += source[i] === '\\' ? 2 : 1;
      }
      i += 1;
      return atomOf(source.slice(start, i));
    }
    if (char === '\\') {
      const next = source[i + 1];
      if (/[1-9]/.test(next) || (next === 'k' && source[i + 2] === '<')) {
        throw new Error('back-references are not allowed (they can make matching slow)');
      }
      const braced = (next === 'u' || next === 'p' || next === 'P') && source[i + 2] === '{';
      i = braced && unicode ? source.indexOf('}', i) + 1 : i + 2;
      return atomOf(source.slice(start, i));
    }
    const pair = unicode && /[\ud800-\udbff][\udc00-\udfff]/.test(source.slice(i, i + 2));
    i += pair ? 2 : 1;
    return atomOf(source.slice(start, i));
  };
  const quantify = (item: Shape): Shape => {
    const start = i;
    const char = source[i];
    const count = char === '{' ? COUNT.exec(source.slice(i)) : null;
    if (char !== '*' && char !== '+' && char !== '?' && !count) {
      return item;
    }
    i += count ? count[0].length : 1;
    const lazy = source[i] === '?' ? '?' : '';
    i += lazy.length; // lazy: the same tree, walked in another order
    const [, low, comma, high] = count ?? [
      '',
      char === '+' ? '1' : '0',
      ',',
      char === '?' ? '1' : '',
    ];
    const min = Number(low);
    const max = comma ? Number(high || Infinity) : min;
    if (max > 1 && (item.quantified || item.alternation)) {
      throw new Error(
        'a repeated group may hold no quantifier and no "|" (it can backtrack catastrophically)',
      );
    }
    const times = Math.min(max, MAX_ID_LENGTH);
    const fixed = item.group ? 0 : Math.min(min, MAX_UNROLLED);
    const least = min - fixed;
    const upper = max === Infinity ? '' : String(max - fixed);
    const rest = `{${least},${upper}}`;
    const loop = { '{0,}': '*', '{1,}': '+', '{0,1}': '?' }[rest] ?? rest;
    const unrolled = item.text.repeat(fixed) + (max === fixed ? '' : item.text + loop + lazy);
    return {
      steps: fixed + (times - fixed) * (item.steps + LOOP_WEIGHT) + 1,
      ends: max === 1 ? item.ends + 1 : times - Math.min(min, times) + 1,
      quantified: true,
      alternation: item.alternation,
      unbounded: item.unbounded + (max === Infinity ? 1 : 0),
      text: fixed === 0 ? item.text + source.slice(start, i) : unrolled,
      group: false,
    };
  };
  return alternation();
}

/** Whether every alternative starts with `^` (V8 then tries the expression at the start only) */
function anchoredAtStart(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i];
    if (char === '\\') {
      i += 1;
    } else if (inClass) {
      inClass = char !== ']';
    } else if (char === '[') {
      inClass = true;
    } else if (char === '(') {
      depth += 1;
    } else if (char === ')') {
      depth -= 1;
    } else if (char === '|' && depth === 0 && source[i + 1] !== '^') {
      return false;
    }
  }
  return source.startsWith('^');
}

/**
 * The steps one id can cost the expression, at most.
 * @throws {Error} with the reason when it can backtrack without bound.
 */
function steps(source: string, flags: string): { steps: number; text: string } {
  const shape = shapeOf(source, flags.includes('u'));
  const anchored = !flags.includes('m') && anchoredAtStart(source);
  if (shape.unbounded > 0 && !anchored) {
    throw new Error(
      '*, + and {n,} need the expression to start with ^ (without the m flag), else every ' +
        'position of an id retries them; a glob such as "*mini*" matches anywhere in linear time',
    );
  }
  if (shape.unbounded > 1) {
    throw new Error('*, + and {n,} may be used once per expression (more can backtrack for long)');
  }
  return { steps: (anchored ? 1 : MAX_ID_LENGTH + 1) * shape.steps, text: shape.text };
}

/** Each UTF-16 unit as a non-unicode `RegExp` with the `i` flag compares it (Canonicalize) */
const FOLDED = new Uint16Array(65536);
let foldedFilled = false;

function fillFolded(): void {
  for (let code = 0; code < 65536 && !foldedFilled; code += 1) {
    const upper = String.fromCharCode(code).toUpperCase();
    const keep = upper.length !== 1 || (code >= 128 && upper.charCodeAt(0) < 128);
    FOLDED[code] = keep ? code : upper.charCodeAt(0);
  }
  foldedFilled = true;
}

const WILD = '?'.charCodeAt(0);

/** A glob segment as folded units (`?`: any one unit) */
const unitsOf = (segment: string) => segment.split('').map((char) => FOLDED[char.charCodeAt(0)]);

/** Whether a glob segment lies in `text` at `index` */
function segmentAt(segment: number[], text: string, index: number): boolean {
  if (index < 0 || index + segment.length > text.length) {
    return false;
  }
  for (let j = 0; j < segment.length; j += 1) {
    if (segment[j] !== WILD && segment[j] !== FOLDED[text.charCodeAt(index + j)]) {
      return false;
    }
  }
  return true;
}

/**
 * Finds where a glob segment (at most 31 units) first lies in `text` between `from` and `to`:
 * Shift-And, one pass over the text, linear whatever the segment.
 */
function segmentFinder(segment: number[]): (text: string, from: number, to: number) => number {
  const slots = new Uint8Array(65536); // 0: a unit the segment does not name; 1...: one it names
  const masks = [0];
  segment.forEach((code, index) => {
    masks[0] |= code === WILD ? 1 << index : 0;
  });
  segment.forEach((code, index) => {
    if (code !== WILD) {
      slots[code] = slots[code] || masks.push(masks[0]) - 1;
      masks[slots[code]] |= 1 << index;
    }
  });
  const last = 1 << (segment.length - 1);
  return (text, from, to) => {
    let state = 0;
    for (let i = from; i < to; i += 1) {
      state = ((state << 1) | 1) & masks[slots[FOLDED[text.charCodeAt(i)]]];
      if (state & last) {
        return i - segment.length + 1;
      }
    }
    return -1;
  };
}

/** A glob without `RegExp`: its first and last segments at the ends, the others leftmost in order */
function compileGlob(pattern: string): ModelPattern {
  fillFolded();
  const segments = pattern.split('*').map(unitsOf);
  const first = segments[0];
  const last = segments.length > 1 ? segments[segments.length - 1] : null;
  const middle = segments.slice(1, -1).filter((segment) => segment.length > 0);
  const long = middle.find((segment) => segment.length > MAX_GLOB_PART);
  if (long) {
    throw new Error(
      `the text between two "*" is at most ${MAX_GLOB_PART} characters (here ${long.length})`,
    );
  }
  const finders = middle.map(segmentFinder);
  return {
    test: (model: string) => {
      if (last === null) {
        return model.length === first.length && segmentAt(first, model, 0);
      }
      const end = model.length - last.length;
      if (end < first.length || !segmentAt(first, model, 0) || !segmentAt(last, model, end)) {
        return false;
      }
      let index = first.length;
      for (let k = 0; k < middle.length; k += 1) {
        const found = finders[k](model, index, end);
        if (found < 0) {
          return false;
        }
        index = found + middle[k].length;
      }
      return true;
    },
  };
}

/**
 * @throws {Error} with the reason when the pattern is not a valid glob or regular expression, or
 *   is an expression that can backtrack without bound.
 */
export function compileModelPattern(pattern: string): ModelPattern {
  if (typeof pattern !== 'string' || pattern.trim() === '') {
    throw new Error('empty pattern');
  }
  if (!pattern.startsWith('/') || pattern.length === 1) {
    return compileGlob(pattern);
  }
  const end = pattern.lastIndexOf('/');
  if (end === 0) {
    throw new Error('regular expression not closed with "/"');
  }
  const source = pattern.slice(1, end);
  const flags = pattern.slice(end + 1);
  if (source === '') {
    throw new Error('empty regular expression');
  }
  if (!REGEX_FLAGS.test(flags)) {
    throw new Error(`unsupported flags "${flags}" (use i, m, s or u)`);
  }
  try {
    new RegExp(source, flags);
  } catch (error) {
    throw new Error(`invalid regular expression: ${(error as Error).message}`);
  }
  let cost: { steps: number; text: string };
  try {
    cost = steps(source, flags);
  } catch (error) {
    throw new Error(`can be too slow to match: ${(error as Error).message}`);
  }
  if (cost.steps > MAX_STEPS) {
    throw new Error(
      `can be too slow to match: up to ${cost.steps} backtracking steps per model id (at most ` +
        `${MAX_STEPS}); use fewer optional or repeated parts, start it with ^, or use a glob`,
    );
  }
  return new RegExp(cost.text, flags);
}

/** One problem per invalid pattern: `models.exclude pattern "[": reason`. */
export function findModelPatternProblems(filters: TModelFilters | undefined): string[] {
  const problems: string[] = [];
  for (const key of ['include', 'exclude'] as const) {
    for (const pattern of filters?.[key] ?? []) {
      try {
        compileModelPattern(pattern);
      } catch (error) {
        problems.push(`models.${key} pattern "${pattern}": ${(error as Error).message}`);
      }
    }
  }
  return problems;
}

/**
 * zod refinement for a custom endpoint: an invalid pattern fails the config check with a message
 * that names the endpoint.
 */
export function refineModelPatterns(
  endpoint: { name?: string; models?: TModelFilters },
  ctx: z.RefinementCtx,
): void {
  for (const problem of findModelPatternProblems(endpoint?.models)) {
    ctx.addIssue({
      code: 'custom',
      path: ['models'],
      message: `Endpoint "${endpoint?.name ?? ''}": ${problem}`,
    });
  }
}

/**
 * @returns a predicate that keeps the ids the filters allow, or `null` when the endpoint has no
 *   filters. Invalid patterns match nothing (the config check refuses them at startup).
 */
export function createModelFilter(
  filters: TModelFilters | undefined,
): ((model: string) => boolean) | null {
  const compile = (patterns: string[] | undefined) =>
    (patterns ?? []).flatMap((pattern) => {
      try {
        return [compileModelPattern(pattern)];
      } catch {
        return [];
      }
    });
  const include = filters?.include?.length ? compile(filters.include) : null;
  const exclude = compile(filters?.exclude);
  if (!include && exclude.length === 0) {
    return null;
  }
  return (model) =>
    (!include || include.some((regex) => regex.test(model))) &&
    !exclude.some((regex) => regex.test(model));
}

/** The ids of a fetched list that the endpoint's `models.include` and `models.exclude` allow. */
export function filterModelList(models: string[], filters: TModelFilters | undefined): string[] {
  const keep = createModelFilter(filters);
  return keep ? models.filter((model) => keep(model)) : models;
}

/** The longest label `models.labels` may give a model (the fetch caps the provider's names alike) */
export const MAX_MODEL_LABEL_LENGTH = 128;

const price = z.number().finite().nonnegative();

/**
 * `models.filters` of a custom endpoint that fetches its models: which fetched models are listed by
 * what the provider says they are (prices in USD per 1M tokens, abilities).
 */
export const modelMetaFiltersSchema = z
  .object({
    maxInputPrice: price.optional(),
    maxOutputPrice: price.optional(),
    freeOnly: z.boolean().optional(),
    require: z.array(z.enum(['vision', 'tools'])).optional(),
  })
  .strict();

export type TModelMetaFilters = z.infer<typeof modelMetaFiltersSchema>;

/**
 * The keys under `models:` of a custom endpoint this feature adds besides include/exclude, spread
 * into each release's endpoint schema (config.ts) so that they are validated and kept:
 * `filters`, `labels` (model id -> label, as upstream's `modelLabels` proposal), `groupBy: prefix`,
 * `metadata: litellm` (ask LiteLLM's `/model/info` even when its answers do not say it is LiteLLM).
 */
export const dynamicModelsConfigShape = {
  filters: modelMetaFiltersSchema.optional(),
  labels: z.record(z.string().min(1).max(MAX_MODEL_LABEL_LENGTH)).optional(),
  groupBy: z.literal('prefix').optional(),
  metadata: z.literal('litellm').optional(),
};

const dynamicModelsConfigSchema = z.object(dynamicModelsConfigShape);

/**
 * One problem per invalid pattern or invalid new key under `models:`, worded as the config check
 * words it (`models.filters.maxInputPrice: Expected number, received string`). `doctor` asks this.
 */
export function findModelsConfigProblems(models: unknown): string[] {
  if (!models || typeof models !== 'object' || Array.isArray(models)) {
    return [];
  }
  const problems = findModelPatternProblems(models as TModelFilters);
  const parsed = dynamicModelsConfigSchema.safeParse(models);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problems.push(`models.${issue.path.join('.')}: ${issue.message}`);
    }
  }
  return problems;
}

/** Whether `models.filters` asks anything */
export function hasModelMetaFilters(filters: TModelMetaFilters | undefined): boolean {
  return Boolean(
    filters &&
      (filters.maxInputPrice != null ||
        filters.maxOutputPrice != null ||
        filters.freeOnly === true ||
        (filters.require?.length ?? 0) > 0),
  );
}

/**
 * One model judged by `models.filters`: dropped only when what the provider says contradicts a
 * filter; a filter it says nothing about is `unchecked` (the model is kept and marked).
 */
export function judgeModelMeta(
  meta: TDynamicModelMeta | undefined,
  filters: TModelMetaFilters | undefined,
): { keep: boolean; unchecked: TDynamicModelFilterKey[] } {
  const unchecked: TDynamicModelFilterKey[] = [];
  let keep = true;
  const atMost = (key: TDynamicModelFilterKey, value: number | undefined, max?: number) => {
    if (max == null) {
      return;
    }
    if (value == null) {
      unchecked.push(key);
    } else if (value > max) {
      keep = false;
    }
  };
  atMost('maxInputPrice', meta?.inputPrice, filters?.maxInputPrice);
  atMost('maxOutputPrice', meta?.outputPrice, filters?.maxOutputPrice);
  if (filters?.freeOnly === true) {
    const prices = [meta?.inputPrice, meta?.outputPrice];
    if (prices.some((value) => value != null && value > 0)) {
      keep = false;
    } else if (prices.some((value) => value == null)) {
      unchecked.push('freeOnly');
    }
  }
  for (const capability of (filters?.require ?? []) as TDynamicModelCapability[]) {
    if (meta?.capabilities?.includes(capability)) {
      continue;
    }
    if (meta?.lacks?.includes(capability)) {
      keep = false;
    } else {
      unchecked.push(capability);
    }
  }
  return { keep, unchecked: keep ? unchecked : [] };
}

/**
 * The ids of a fetched list that `models.filters` keeps, and their metadata with `unchecked` set
 * on each kept model a filter could not judge (never silently dropped). Models without filters
 * pass unchanged.
 */
export function filterModelsByMeta(
  models: string[],
  meta: Record<string, TDynamicModelMeta> | undefined,
  filters: TModelMetaFilters | undefined,
): { models: string[]; meta: Record<string, TDynamicModelMeta> } {
  const known = meta ?? {};
  if (!hasModelMetaFilters(filters)) {
    return { models, meta: known };
  }
  /** Own entries only: a fetched id such as `constructor` must not read the prototype */
  const of = (model: string) =>
    Object.prototype.hasOwnProperty.call(known, model) ? known[model] : undefined;
  const kept: string[] = [];
  const keptMeta: Record<string, TDynamicModelMeta> = Object.create(null);
  for (const model of models) {
    const { keep, unchecked } = judgeModelMeta(of(model), filters);
    if (!keep) {
      continue;
    }
    kept.push(model);
    const entry = of(model);
    if (unchecked.length > 0) {
      keptMeta[model] = { ...entry, unchecked };
    } else if (entry) {
      keptMeta[model] = entry;
    }
  }
  return { models: kept, meta: keptMeta };
}
