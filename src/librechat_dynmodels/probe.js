'use strict';
/**
 * `librechat-dynmodels doctor --probe`: runs a patched checkout's own `fetchUserModelList` for one
 * custom endpoint, as the server would, and prints one result line. Started by probe.py with
 * cwd `<checkout>/api`:
 *
 * - stdin: one JSON object `{ api, module, endpoint: { name, baseURL, userProvidedURL, headers,
 *   allowedAddresses }, filters: { include, exclude } | null, first }`;
 * - the key: only in the environment variable below, removed before any LibreChat code loads;
 * - stdout: whatever LibreChat's logger writes, and one line `RESULT_MARK {json}`:
 *   `{ models: { count, fetched, first }, elapsedMs }`, `{ error, status?, elapsedMs }` (the
 *   fetch's category) or `{ fatal, detail? }` (it could not run).
 */
const path = require('path');
const { createRequire } = require('module');

const KEY_VARIABLE = 'LIBRECHAT_DYNMODELS_PROBE_KEY';
const RESULT_MARK = 'LIBRECHAT_DYNMODELS_PROBE_RESULT';

const apiKey = process.env[KEY_VARIABLE] ?? '';
delete process.env[KEY_VARIABLE];

function finish(result) {
  process.stdout.write(`\n${RESULT_MARK} ${JSON.stringify(result)}\n`, () => process.exit(0));
}

function firstLine(error) {
  return String(error?.message ?? error).split('\n')[0];
}

function readInput() {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      text += chunk;
    });
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

async function main() {
  const input = JSON.parse(await readInput());
  /** Resolves packages as the checkout's api does, not from this file's folder */
  const requireFromApi = createRequire(path.join(input.api, 'package.json'));

  let moduleAlias;
  try {
    moduleAlias = requireFromApi('module-alias');
  } catch (error) {
    return finish({ fatal: 'module_alias', detail: firstLine(error) });
  }
  moduleAlias.addAlias('~', input.api);

  let fetchModule;
  try {
    fetchModule = requireFromApi(input.module);
  } catch (error) {
    return finish({ fatal: 'fetch_module', detail: firstLine(error) });
  }
  if (typeof fetchModule?.fetchUserModelList !== 'function') {
    return finish({ fatal: 'fetch_module', detail: 'it does not export fetchUserModelList' });
  }

  let filterModelList = null;
  if (input.filters) {
    try {
      filterModelList = requireFromApi('librechat-data-provider').filterModelList;
    } catch {
      filterModelList = null;
    }
    if (typeof filterModelList !== 'function') {
      return finish({ fatal: 'no_filter_export' });
    }
  }

  const { endpoint } = input;
  const started = process.hrtime.bigint();
  let result;
  try {
    result = await fetchModule.fetchUserModelList({
      name: endpoint.name,
      baseURL: endpoint.baseURL,
      apiKey,
      userProvidedURL: endpoint.userProvidedURL,
      headers: endpoint.headers ?? undefined,
      allowedAddresses: endpoint.allowedAddresses ?? null,
    });
  } catch (error) {
    return finish({ fatal: 'fetch_threw', detail: firstLine(error) });
  }
  const elapsedMs = Number((process.hrtime.bigint() - started) / 1000000n);
  if (!result || !Array.isArray(result.models)) {
    const status = typeof result?.status === 'number' ? result.status : null;
    return finish({ error: String(result?.error ?? 'bad_response'), status, elapsedMs });
  }
  const kept = filterModelList ? filterModelList(result.models, input.filters) : result.models;
  return finish({
    models: { count: kept.length, fetched: result.models.length, first: kept.slice(0, input.first) },
    elapsedMs,
  });
}

main().catch((error) => finish({ fatal: 'driver', detail: firstLine(error) }));
