const dns = require('dns');
const net = require('net');
const http = require('http');
const https = require('https');
const axios = require('axios');
const { HttpsProxyAgent } = require('https-proxy-agent');
const {
  logger,
  keepsConfiguredAuthorization,
  proxyHelpers,
} = require('./userModelsCompat');

/**
 * Error categories reported for a failed per-user model fetch. Nothing else (no provider
 * message, no status text, no URL) ever leaves this module.
 */
const FetchErrors = Object.freeze({
  UNAUTHORIZED: 'unauthorized',
  UNREACHABLE: 'unreachable',
  TIMEOUT: 'timeout',
  BAD_RESPONSE: 'bad_response',
  BLOCKED_URL: 'blocked_url',
  /** The key changed while its list was being fetched; the request was stopped, nothing stored. */
  CANCELED: 'canceled',
});

/**
 * A private axios instance: no interceptor that a release installs on the global axios reaches
 * these requests (up to v0.7.9 the data provider adds a browser token refresh to it on import,
 * in Node too, which turned a provider's 401 into an invalid-URL error).
 */
const httpClient = axios.create();

const DEFAULT_TIMEOUT_MS = 10000;
const MAX_MODELS = 10000;
const MAX_MODEL_ID_LENGTH = 256;
const MAX_RESPONSE_BYTES = 5 * 1024 * 1024;

/**
 * Bounds of what is kept of the provider's word on each model (cached with the list): metadata
 * for at most MAX_META_MODELS models, a label of at most MAX_LABEL_LENGTH characters, a
 * description of at most MAX_DESCRIPTION_LENGTH; numbers must be finite, non-negative and below
 * MAX_TOKENS (tokens) or MAX_PRICE (USD per 1M tokens), else they are left out.
 */
const MAX_META_MODELS = 2000;
const MAX_LABEL_LENGTH = 128;
const MAX_DESCRIPTION_LENGTH = 300;
const MAX_TOKENS = 100000000;
const MAX_PRICE = 1000000;
const PER_MILLION = 1000000;

/** Addresses a user-provided base URL may not resolve to (unless its host is allowlisted). */
const blockList = new net.BlockList();
[
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254, 169.254.170.2)
  ['168.63.129.16', 32], // Azure WireServer and its DNS
  ['100.100.100.200', 32], // Alibaba Cloud metadata (also inside CGNAT below)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
].forEach(([address, prefix]) => blockList.addSubnet(address, prefix, 'ipv4'));
[
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local (includes fd00:ec2::254, AWS metadata; fd20:ce::254, GCP)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
].forEach(([address, prefix]) => blockList.addSubnet(address, prefix, 'ipv6'));

/**
 * IPv4 address embedded in an IPv6 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible,
 * NAT64 `64:ff9b::/96`), or null.
 * @param {string} address
 * @returns {string | null}
 */
function embeddedIPv4(address) {
  const lower = address.toLowerCase();
  const dotted = lower.match(/^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    return dotted[1];
  }
  const hex = lower.match(/^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/);
  if (hex) {
    const high = parseInt(hex[1], 16);
    const low = parseInt(hex[2], 16);
    return [high >> 8, high & 255, low >> 8, low & 255].join('.');
  }
  return null;
}

/**
 * @param {string} address - An IPv4 or IPv6 address.
 * @returns {boolean} Whether the address is loopback, private, link-local, CGNAT, metadata, etc.
 */
function isBlockedAddress(address) {
  const family = net.isIP(address);
  if (family === 4) {
    return blockList.check(address, 'ipv4');
  }
  if (family === 6) {
    const v4 = embeddedIPv4(address);
    if (v4) {
      return blockList.check(v4, 'ipv4');
    }
    return blockList.check(address, 'ipv6');
  }
  return true;
}

/**
 * Lower-cased entries of DYNAMIC_MODELS_ALLOWED_HOSTS (comma-separated `host` or `host:port`).
 * @returns {string[]}
 */
function getAllowedHosts() {
  return (process.env.DYNAMIC_MODELS_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * An allowlist entry as `host:port`: a bare host (IPv6 in brackets or not) means the default port
 * of the URL's scheme, so `localhost` allows `https://localhost` but not `http://localhost:6379`.
 * @param {string} entry
 * @param {string} defaultPort
 * @returns {string}
 */
function withPort(entry, defaultPort) {
  if (/^\[[^\]]+\]:\d+$/.test(entry) || /^[^:]+:\d+$/.test(entry)) {
    return entry;
  }
  const host = entry.replace(/^\[|\]$/g, '');
  return host.includes(':') ? `[${host}]:${defaultPort}` : `${host}:${defaultPort}`;
}

/**
 * Whether the admin trusts this user URL's host and port: listed in DYNAMIC_MODELS_ALLOWED_HOSTS
 * or in LibreChat's `endpoints.allowedAddresses` (v0.8.6+), as `host:port` or as a bare host
 * (the scheme's default port).
 * @param {URL} url
 * @param {string[] | null} [allowedAddresses]
 * @returns {boolean}
 */
function isAllowedHost(url, allowedAddresses) {
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const target = withPort(hostname, url.port || defaultPort);
  const entries = [
    ...getAllowedHosts(),
    ...(Array.isArray(allowedAddresses) ? allowedAddresses : []).map((entry) =>
      String(entry).trim().toLowerCase(),
    ),
  ];
  return entries.some((entry) => withPort(entry, defaultPort) === target);
}

/**
 * @returns {number} Deadline of one upstream fetch in ms (DYNAMIC_MODELS_TIMEOUT_MS): connect,
 *   headers and body together.
 */
function getTimeoutMs() {
  const value = parseInt(process.env.DYNAMIC_MODELS_TIMEOUT_MS ?? '', 10);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_TIMEOUT_MS;
}

/**
 * Checks a user-provided base URL: `https` only, no credentials, query or fragment, and every
 * address its host resolves to must be public, unless the admin allows the host and port
 * (DYNAMIC_MODELS_ALLOWED_HOSTS or `endpoints.allowedAddresses`; then `http` is allowed too).
 * @param {string} baseURL
 * @param {{ lookup?: typeof dns.promises.lookup, allowedAddresses?: string[] | null }} [options]
 * @returns {Promise<{ ok: true, url: URL, addresses: Array<{ address: string, family: number }> | null }
 *   | { ok: false, error: string }>} `addresses` are the checked addresses to connect to (null: allowlisted).
 */
async function checkUserBaseURL(baseURL, { lookup = dns.promises.lookup, allowedAddresses } = {}) {
  let url;
  try {
    url = new URL(baseURL);
  } catch {
    return { ok: false, error: FetchErrors.BLOCKED_URL };
  }
  if (url.username || url.password || url.search || url.hash || /[?#]/.test(baseURL)) {
    return { ok: false, error: FetchErrors.BLOCKED_URL };
  }
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isAllowedHost(url, allowedAddresses)) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      return { ok: false, error: FetchErrors.BLOCKED_URL };
    }
    return { ok: true, url, addresses: null };
  }
  if (url.protocol !== 'https:') {
    return { ok: false, error: FetchErrors.BLOCKED_URL };
  }

  let addresses;
  if (net.isIP(hostname)) {
    addresses = [{ address: hostname, family: net.isIP(hostname) }];
  } else {
    try {
      addresses = await lookup(hostname, { all: true, verbatim: true });
    } catch {
      return { ok: false, error: FetchErrors.UNREACHABLE };
    }
  }
  if (!Array.isArray(addresses) || addresses.length === 0) {
    return { ok: false, error: FetchErrors.UNREACHABLE };
  }
  if (addresses.some(({ address }) => isBlockedAddress(address))) {
    return { ok: false, error: FetchErrors.BLOCKED_URL };
  }
  return { ok: true, url, addresses };
}

/**
 * An agent whose DNS lookup answers only the addresses checked by `checkUserBaseURL`, so the
 * connection cannot be re-pointed (DNS rebinding) between the check and the request.
 * @param {Array<{ address: string, family: number }>} addresses
 * @param {boolean} secure
 */
function createPinnedAgent(addresses, secure) {
  const lookup = (_hostname, options, callback) => {
    const cb = typeof options === 'function' ? options : callback;
    const opts = typeof options === 'object' && options ? options : {};
    const wanted = opts.family === 4 || opts.family === 6 ? opts.family : 0;
    const list = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
    if (list.length === 0) {
      const error = new Error('no address');
      error.code = 'ENOTFOUND';
      return cb(error);
    }
    if (opts.all) {
      return cb(null, list);
    }
    return cb(null, list[0].address, list[0].family);
  };
  return secure ? new https.Agent({ lookup }) : new http.Agent({ lookup });
}

/**
 * Reads model ids from an OpenAI-compatible `/models` answer: `{ data: [{ id }] }`, or an array
 * of strings or of `{ id }` objects.
 * @param {unknown} body
 * @returns {string[] | null} The ids, or null when the shape is not recognized or empty.
 */
function parseModelList(body) {
  let items = null;
  if (body && typeof body === 'object' && !Array.isArray(body) && Array.isArray(body.data)) {
    items = body.data;
  } else if (Array.isArray(body)) {
    items = body;
  }
  if (!items) {
    return null;
  }
  const models = [];
  const seen = new Set();
  for (const item of items) {
    let id = item;
    if (item && typeof item === 'object') {
      id = item.id;
    }
    if (typeof id !== 'string') {
      continue;
    }
    const trimmed = id.trim();
    if (!trimmed || trimmed.length > MAX_MODEL_ID_LENGTH || seen.has(trimmed)) {
      continue;
    }
    seen.add(trimmed);
    models.push(trimmed);
    if (models.length >= MAX_MODELS) {
      break;
    }
  }
  return models.length > 0 ? models : null;
}

const own = (map, key) => Object.prototype.hasOwnProperty.call(map, key);

/** A whole count of tokens within bounds, or undefined */
function tokens(value) {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return Number.isInteger(number) && number > 0 && number <= MAX_TOKENS ? number : undefined;
}

/** A per-token price (number or decimal string) as USD per 1M tokens within bounds, or undefined */
function perMillion(value) {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) {
    return undefined;
  }
  const scaled = Math.round(number * PER_MILLION * 1e6) / 1e6;
  return scaled <= MAX_PRICE ? scaled : undefined;
}

/** Text cut to `max` characters (whole code points), control characters as spaces, or undefined */
function text(value, max) {
  if (typeof value !== 'string') {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (!clean) {
    return undefined;
  }
  const points = Array.from(clean);
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : clean;
}

/**
 * Sets `capability` in `capabilities` (supported) or `lacks` (the provider's list does not name it)
 * when the provider answered a list, else leaves it unknown.
 */
function ability(meta, capability, list, names) {
  if (!Array.isArray(list)) {
    return;
  }
  const key = list.some((item) => names.includes(item)) ? 'capabilities' : 'lacks';
  meta[key] = [...(meta[key] ?? []), capability];
}

/** Drops fields left undefined; null when nothing is known */
function compact(meta) {
  const out = {};
  for (const [key, value] of Object.entries(meta)) {
    if (value !== undefined) {
      out[key] = value;
    }
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * What one `/models` item says about its model: OpenRouter's `name`, `description`,
 * `context_length`, `top_provider.max_completion_tokens`, `pricing` (per-token strings),
 * `architecture.input_modalities` (image: vision), `supported_parameters` (tools); vLLM's
 * `max_model_len`.
 * @param {object} item
 * @returns {import('librechat-data-provider').TDynamicModelMeta | null}
 */
function metaOfListItem(item) {
  const meta = {
    label: text(item.name, MAX_LABEL_LENGTH),
    description: text(item.description, MAX_DESCRIPTION_LENGTH),
    contextWindow: tokens(item.context_length) ?? tokens(item.max_model_len),
    maxOutputTokens: tokens(item.top_provider?.max_completion_tokens),
  };
  if (item.pricing && typeof item.pricing === 'object') {
    meta.inputPrice = perMillion(item.pricing.prompt);
    meta.outputPrice = perMillion(item.pricing.completion);
  }
  ability(meta, 'vision', item.architecture?.input_modalities, ['image']);
  ability(meta, 'tools', item.supported_parameters, ['tools']);
  return compact(meta);
}

/**
 * What LiteLLM's `/model/info` says about one deployment (`model_info`).
 * @returns {import('librechat-data-provider').TDynamicModelMeta | null}
 */
function metaOfLiteLLMInfo(info) {
  if (!info || typeof info !== 'object') {
    return null;
  }
  /** LiteLLM answers 0 for a price it does not have ("Defaulting to 0", litellm.get_model_info):
   * a 0 there is unknown, never free (OpenRouter's "0" is a real price: metaOfListItem) */
  const price = (value) => perMillion(value) || undefined;
  const meta = {
    contextWindow: tokens(info.max_input_tokens) ?? tokens(info.max_tokens),
    maxOutputTokens: tokens(info.max_output_tokens),
    inputPrice: price(info.input_cost_per_token),
    outputPrice: price(info.output_cost_per_token),
  };
  const flag = (capability, value) => {
    if (typeof value === 'boolean') {
      meta[value ? 'capabilities' : 'lacks'] = [
        ...(meta[value ? 'capabilities' : 'lacks'] ?? []),
        capability,
      ];
    }
  };
  flag('vision', info.supports_vision);
  flag('tools', info.supports_function_calling);
  return compact(meta);
}

/**
 * Per listed model, what the provider says (bounded, see MAX_META_MODELS), in a map without
 * prototype (ids such as `__proto__` are plain keys).
 * @param {Array<[string, object | null]>} pairs - model id and its item or info
 * @param {Set<string>} listed
 * @param {(item: object) => object | null} read
 * @param {Record<string, object>} [into]
 */
function collectMeta(pairs, listed, read, into = Object.create(null)) {
  let count = Object.keys(into).length;
  for (const [id, item] of pairs) {
    if (count >= MAX_META_MODELS) {
      break;
    }
    if (typeof id !== 'string' || !listed.has(id.trim()) || !item || typeof item !== 'object') {
      continue;
    }
    const key = id.trim();
    const meta = read(item);
    if (!meta) {
      continue;
    }
    if (!own(into, key)) {
      count += 1;
    }
    /** The list's word first, LiteLLM's info fills in what it lacks */
    into[key] = own(into, key) ? { ...meta, ...into[key] } : meta;
  }
  return into;
}

/**
 * The token configuration LibreChat reads for a custom endpoint (`{ [model]: { prompt,
 * completion, context } }`, USD per 1M tokens), from the metadata: prices only when both are
 * known, the context window when known. Null when there is nothing.
 * @param {Record<string, import('librechat-data-provider').TDynamicModelMeta>} meta
 */
function tokenConfigOfMeta(meta) {
  const tokenConfig = {};
  let any = false;
  for (const [model, entry] of Object.entries(meta ?? {})) {
    const config = {};
    if (entry.inputPrice != null && entry.outputPrice != null) {
      config.prompt = entry.inputPrice;
      config.completion = entry.outputPrice;
    }
    if (entry.contextWindow != null) {
      config.context = entry.contextWindow;
    }
    if (Object.keys(config).length > 0) {
      tokenConfig[model] = config;
      any = true;
    }
  }
  return any ? tokenConfig : null;
}

/** Whether an answer comes from a LiteLLM proxy (it names itself in `x-litellm-*` headers) */
function isLiteLLMAnswer(response) {
  const headers = response?.headers;
  if (!headers || typeof headers !== 'object') {
    return false;
  }
  const names = typeof headers.toJSON === 'function' ? Object.keys(headers.toJSON()) : Object.keys(headers);
  return names.some((name) => name.toLowerCase().startsWith('x-litellm'));
}

/**
 * Maps an axios error to a category; never looks at (or returns) the message or body.
 * @param {unknown} error
 * @returns {{ error: string, status?: number }}
 */
function classifyError(error) {
  const status = error?.response?.status;
  if (typeof status === 'number') {
    if (status === 401 || status === 403) {
      return { error: FetchErrors.UNAUTHORIZED, status };
    }
    if (status === 429 || status >= 500) {
      return { error: FetchErrors.UNREACHABLE, status };
    }
    return { error: FetchErrors.BAD_RESPONSE, status };
  }
  const code = error?.code;
  if (code === 'ERR_CANCELED') {
    return { error: error.deadline ? FetchErrors.TIMEOUT : FetchErrors.CANCELED };
  }
  if (code === 'ETIMEDOUT' || code === 'ECONNABORTED') {
    return { error: FetchErrors.TIMEOUT };
  }
  if (code === 'ERR_FR_MAX_BODY_LENGTH_EXCEEDED' || code === 'ERR_BAD_RESPONSE') {
    return { error: FetchErrors.BAD_RESPONSE };
  }
  return { error: FetchErrors.UNREACHABLE };
}

/**
 * Logs a failed fetch: the endpoint name (from the admin's config) and a category only.
 * @param {string} name
 * @param {{ error: string, status?: number }} result
 */
function logFailure(name, { error, status }) {
  logger.warn(`[dynamicModels] ${name}: ${error}${status ? ` (HTTP ${status})` : ''}`);
}

/**
 * The `/models` URL of a base URL (or another `leaf`, e.g. LiteLLM's `model/info`), built with
 * the URL API (the base URL's path, then the leaf).
 * @param {string} baseURL
 * @param {string} [leaf]
 * @returns {URL | null}
 */
function modelsURL(baseURL, leaf = 'models') {
  try {
    const url = new URL(String(baseURL ?? ''));
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${leaf}`;
    url.search = '';
    url.hash = '';
    return url;
  } catch {
    return null;
  }
}

/**
 * Routes an admin (or admin-trusted) URL as this release's `fetchModels` does: LibreChat's own
 * proxy helper where the release has one (v0.8.7+: PROXY or HTTP(S)_PROXY, NO_PROXY honoured),
 * else PROXY for https URLs.
 * @param {import('axios').AxiosRequestConfig} options
 * @param {URL} url
 */
function applyProxy(options, url) {
  if (proxyHelpers) {
    proxyHelpers.applyAxiosProxyConfig(options, url.toString());
    return;
  }
  if (process.env.PROXY && url.protocol === 'https:') {
    options.httpsAgent = new HttpsProxyAgent(process.env.PROXY);
    options.proxy = false;
  }
}

/**
 * Whether a proxy would carry a request to this URL. A proxy resolves the host name again, so a
 * user URL checked by its addresses cannot go through one: it is refused instead.
 * @param {URL} url
 * @returns {boolean}
 */
function isProxied(url) {
  if (proxyHelpers) {
    return Boolean(proxyHelpers.getProxyUrlForUrl(url.toString()));
  }
  return Boolean(process.env.PROXY) && url.protocol === 'https:';
}

/**
 * One GET with a deadline over the whole request (connect, headers, body; `timeoutMs`, by default
 * DYNAMIC_MODELS_TIMEOUT_MS) and an optional outside signal (the key was replaced): either aborts it.
 * @param {string} url
 * @param {import('axios').AxiosRequestConfig} options
 * @param {AbortSignal} [signal]
 */
async function getWithDeadline(url, options, signal, timeoutMs = getTimeoutMs()) {
  const controller = new AbortController();
  let deadline = false;
  const timer = setTimeout(() => {
    deadline = true;
    controller.abort();
  }, timeoutMs);
  const stop = () => controller.abort();
  signal?.addEventListener('abort', stop);
  if (signal?.aborted) {
    controller.abort();
  }
  try {
    return await httpClient.get(url, { ...options, signal: controller.signal });
  } catch (error) {
    if (deadline && error && typeof error === 'object') {
      error.deadline = true;
    }
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * Ollama's own list (`GET {origin}/api/tags`, `models[].name`), as LibreChat's `fetchModels` asks
 * an endpoint named Ollama; null when it does not answer that way.
 */
async function fetchOllamaTags(baseURL, options, signal) {
  const url = modelsURL(baseURL);
  if (!url) {
    return null;
  }
  try {
    const response = await getWithDeadline(`${url.origin}/api/tags`, options, signal);
    const tags = response?.data?.models;
    if (!Array.isArray(tags)) {
      return null;
    }
    return parseModelList(tags.map((tag) => tag?.name));
  } catch (error) {
    if (error?.code === 'ERR_CANCELED') {
      throw error;
    }
    return null;
  }
}

/** JSON of an answer body (axios leaves a body it could not parse as a string), or null */
function jsonBody(response) {
  const body = response?.data;
  if (typeof body !== 'string') {
    return body ?? null;
  }
  try {
    return JSON.parse(body);
  } catch {
    return null;
  }
}

/**
 * LiteLLM's `/model/info` (under the base URL, as `/models`) with the same options as the list
 * (connection by the checked addresses, headers, size limit) within what is left of the list's
 * deadline: `[model_name, model_info]` pairs, or null (logged as a category; the list stands).
 */
async function fetchLiteLLMInfo({ name, baseURL, options, signal, timeoutMs }) {
  const url = modelsURL(baseURL, 'model/info');
  if (!url || timeoutMs < 1) {
    return null;
  }
  try {
    const data = jsonBody(await getWithDeadline(url.toString(), options, signal, timeoutMs))?.data;
    if (!Array.isArray(data)) {
      logger.warn(`[dynamicModels] ${name}: metadata ${FetchErrors.BAD_RESPONSE}`);
      return null;
    }
    return data.map((item) => [item?.model_name, item?.model_info]);
  } catch (error) {
    if (error?.code === 'ERR_CANCELED' && !error.deadline) {
      throw error;
    }
    const { error: category, status } = classifyError(error);
    logger.warn(`[dynamicModels] ${name}: metadata ${category}${status ? ` (HTTP ${status})` : ''}`);
    return null;
  }
}

/**
 * What the provider says about the listed models: the list's items, and for LiteLLM (its answer
 * names it, or `models.metadata: litellm`) one request to `/model/info`.
 * @returns {Promise<{ meta?: Record<string, object>, tokenConfig?: object }>}
 */
async function readModelMeta({ name, baseURL, body, response, models, metadata, request }) {
  const listed = new Set(models);
  const items = Array.isArray(body) ? body : Array.isArray(body?.data) ? body.data : [];
  const pairs = items
    .filter((item) => item && typeof item === 'object')
    .map((item) => [item.id, item]);
  const meta = collectMeta(pairs, listed, metaOfListItem);
  if (metadata === 'litellm' || isLiteLLMAnswer(response)) {
    const info = await fetchLiteLLMInfo({ name, baseURL, ...request });
    if (info) {
      collectMeta(info, listed, metaOfLiteLLMInfo, meta);
    }
  }
  if (Object.keys(meta).length === 0) {
    return {};
  }
  const tokenConfig = tokenConfigOfMeta(meta);
  return tokenConfig ? { meta, tokenConfig } : { meta };
}

/**
 * Fetches the model list a user's credentials reach: `GET ${baseURL}/models` with
 * `Authorization: Bearer ${apiKey}` (for an endpoint named Ollama, `/api/tags` first, as
 * LibreChat's `fetchModels`). It does not use LibreChat's `fetchModels`, which logs the
 * provider's error response (that may echo the key), has a fixed timeout and cannot tell an
 * unauthorized key from an unreachable host. What the provider says about each model is returned
 * as `meta` (see `readModelMeta`; at most one more request, LiteLLM's `/model/info`, within the
 * same deadline) and its context and prices as `tokenConfig` (LibreChat's shape).
 *
 * @param {object} params
 * @param {string} params.name - Endpoint name (for logs only).
 * @param {string} params.baseURL
 * @param {string} params.apiKey
 * @param {boolean} params.userProvidedURL - Whether the base URL came from the user (then it is
 *   checked by `checkUserBaseURL`, fetched directly by its checked addresses and configured
 *   headers are not sent).
 * @param {string[] | null} [params.allowedAddresses] - `endpoints.allowedAddresses` (v0.8.6+).
 * @param {Record<string, string>} [params.headers] - Resolved configured headers (admin URL only).
 * @param {string} [params.userIdQuery] - User id appended as `?user=` (models.userIdQuery).
 * @param {AbortSignal} [params.signal] - Aborts the fetch (the key was replaced).
 * @param {typeof dns.promises.lookup} [params.lookup]
 * @param {'litellm'} [params.metadata] - `models.metadata`: ask LiteLLM's `/model/info`.
 * @returns {Promise<{ models: string[], meta?: Record<string, object>, tokenConfig?: object }
 *   | { error: string, status?: number }>}
 */
async function fetchUserModelList({
  name,
  baseURL,
  apiKey,
  userProvidedURL,
  headers,
  userIdQuery,
  allowedAddresses,
  signal,
  lookup,
  metadata,
}) {
  const startedAt = Date.now();
  const fail = (result) => {
    logFailure(name, result);
    return result;
  };
  const url = modelsURL(baseURL);
  if (!url) {
    return fail({ error: userProvidedURL ? FetchErrors.BLOCKED_URL : FetchErrors.UNREACHABLE });
  }
  if (userIdQuery) {
    url.searchParams.append('user', userIdQuery);
  }

  /** @type {import('axios').AxiosRequestConfig} */
  const options = {
    maxRedirects: 0,
    maxContentLength: MAX_RESPONSE_BYTES,
    transitional: { clarifyTimeoutError: true },
    validateStatus: (status) => status >= 200 && status < 300,
  };
  let trusted = !userProvidedURL;
  if (userProvidedURL) {
    const check = await checkUserBaseURL(baseURL, { lookup, allowedAddresses });
    if (!check.ok) {
      return fail({ error: check.error });
    }
    trusted = check.addresses == null;
    if (!trusted) {
      if (isProxied(url)) {
        return fail({ error: FetchErrors.BLOCKED_URL });
      }
      /** Connected by the checked addresses, never through a proxy */
      options.httpsAgent = createPinnedAgent(check.addresses, true);
      options.proxy = false;
    }
  }
  if (trusted) {
    applyProxy(options, url);
  }

  const requestHeaders = { ...(userProvidedURL ? {} : (headers ?? {})) };
  const configured = Object.keys(requestHeaders).filter((key) => key.toLowerCase() === 'authorization');
  if (configured.length === 0 || !keepsConfiguredAuthorization) {
    /** As this release's `fetchModels`: the key is the Authorization header (see the compat) */
    configured.forEach((key) => delete requestHeaders[key]);
    requestHeaders.Authorization = `Bearer ${apiKey}`;
  }
  options.headers = requestHeaders;

  let response;
  try {
    if (/^ollama/i.test(name ?? '')) {
      const tags = await fetchOllamaTags(baseURL, options, signal);
      if (tags) {
        return { models: tags };
      }
    }
    response = await getWithDeadline(url.toString(), options, signal);
  } catch (error) {
    return fail(classifyError(error));
  }

  const body = jsonBody(response);
  const models = parseModelList(body);
  if (!models) {
    return fail({ error: FetchErrors.BAD_RESPONSE });
  }
  try {
    const timeoutMs = getTimeoutMs() - (Date.now() - startedAt);
    const request = { options, signal, timeoutMs };
    const found = await readModelMeta({ name, baseURL, body, response, models, metadata, request });
    return { models, ...found };
  } catch (error) {
    return fail(classifyError(error));
  }
}

module.exports = {
  httpClient,
  FetchErrors,
  isBlockedAddress,
  isAllowedHost,
  checkUserBaseURL,
  parseModelList,
  classifyError,
  fetchUserModelList,
  metaOfListItem,
  metaOfLiteLLMInfo,
  tokenConfigOfMeta,
  MAX_META_MODELS,
  MAX_LABEL_LENGTH,
  MAX_DESCRIPTION_LENGTH,
};
