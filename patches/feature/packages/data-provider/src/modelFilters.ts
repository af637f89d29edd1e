import type { z } from 'zod';

/**
 * `models.include` and `models.exclude` of a custom endpoint that fetches its models: which
 * fetched model ids are listed. A pattern is a glob (`*` any characters, `?` one character,
 * matched against the whole id, case-insensitive) or a regular expression between slashes
 * (`/^dall-e/i`, searched anywhere in the id; flags `i`, `m`, `s`, `u`).
 */
export type TModelFilters = {
  include?: string[];
  exclude?: string[];
};

const REGEX_FLAGS = /^[imsu]*$/;

/**
 * @throws {Error} with the reason when the pattern is not a valid glob or regular expression.
 */
export function compileModelPattern(pattern: string): RegExp {
  if (typeof pattern !== 'string' || pattern.trim() === '') {
    throw new Error('empty pattern');
  }
  if (pattern.startsWith('/') && pattern.length > 1) {
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
      return new RegExp(source, flags);
    } catch (error) {
      throw new Error(`invalid regular expression: ${(error as Error).message}`);
    }
  }
  const source = pattern
    .split('')
    .map((char) => {
      if (char === '*') {
        return '.*';
      }
      if (char === '?') {
        return '.';
      }
      return char.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`, 'is');
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
