'use strict';
/**
 * `librechat-dynmodels doctor`: judges `models.include` / `models.exclude` with the checkout's own
 * built data provider (`findModelPatternProblems` and `filterModelList` of the feature's
 * modelFilters.ts, and `findModelsConfigProblems` for `models.filters/labels/groupBy/metadata`),
 * the code LibreChat itself runs. Started by model_filters.py:
 *
 * - stdin: one JSON object `{ module, endpoints: [{ include, exclude, defaults, extra }] }`;
 * - stdout: one line `RESULT_MARK {json}`: `{ results: [{ problems, keptDefaults }] }` (keptDefaults:
 *   the defaults the include patterns keep, null without include patterns or with problems) or
 *   `{ fatal, detail? }` (it could not ask).
 */
const RESULT_MARK = 'LIBRECHAT_DYNMODELS_FILTERS_RESULT';

function finish(result) {
  process.stdout.write(`\n${RESULT_MARK} ${JSON.stringify(result)}\n`, () => process.exit(0));
}

function main() {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  let provider;
  try {
    provider = require(input.module);
  } catch (error) {
    return finish({ fatal: 'module', detail: String(error?.message ?? error).split('\n')[0] });
  }
  const { findModelPatternProblems, filterModelList } = provider ?? {};
  if (typeof findModelPatternProblems !== 'function' || typeof filterModelList !== 'function') {
    return finish({ fatal: 'no_export' });
  }
  const { findModelsConfigProblems } = provider;
  const extended = input.endpoints.some(({ extra }) => extra && Object.keys(extra).length > 0);
  if (extended && typeof findModelsConfigProblems !== 'function') {
    return finish({ fatal: 'no_export' });
  }
  const results = input.endpoints.map(({ include, exclude, defaults, extra }) => {
    const problems =
      extra && Object.keys(extra).length > 0
        ? findModelsConfigProblems({ ...extra, include, exclude })
        : findModelPatternProblems({ include, exclude });
    const keptDefaults =
      problems.length === 0 && include.length > 0 ? filterModelList(defaults, { include }) : null;
    return { problems, keptDefaults };
  });
  return finish({ results });
}

try {
  main();
} catch (error) {
  finish({ fatal: 'driver', detail: String(error?.message ?? error) });
}
