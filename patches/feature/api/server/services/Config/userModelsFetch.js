const dns = require('dns');
const net = require('net');
const http = require('http');
const https = require('https');
const axios = require('axios');
const { HttpsProxyAgent } = require('https-proxy-agent');
const {
  logger,
  readTokenConfig,
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
 * The `/models` URL of a base URL, built with the URL API (the base URL's path, then `models`).
 * @param {string} baseURL
 * @returns {URL | null}
 */
function modelsURL(baseURL) {
  try {
    const url = new URL(String(baseURL ?? ''));
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/models`;
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
 * One GET with a deadline over the whole request (connect, headers, body) and an optional outside
 * signal (the key was replaced): either aborts it.
 * @param {string} url
 * @param {import('axios').AxiosRequestConfig} options
 * @param {AbortSignal} [signal]
 */
async function getWithDeadline(url, options, signal) {
  const controller = new AbortController();
  let deadline = false;
  const timer = setTimeout(() => {
    deadline = true;
    controller.abort();
  }, getTimeoutMs());
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

/**
 * Fetches the model list a user's credentials reach: `GET ${baseURL}/models` with
 * `Authorization: Bearer ${apiKey}` (for an endpoint named Ollama, `/api/tags` first, as
 * LibreChat's `fetchModels`). It does not use LibreChat's `fetchModels`, which logs the
 * provider's error response (that may echo the key), has a fixed timeout and cannot tell an
 * unauthorized key from an unreachable host. Pricing data of the answer is returned as
 * `tokenConfig` where this release reads it (see `userModelsCompat`).
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
 * @returns {Promise<{ models: string[], tokenConfig?: object }
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
}) {
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

  let body = response?.data;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = null;
    }
  }
  const models = parseModelList(body);
  if (!models) {
    const result = { error: FetchErrors.BAD_RESPONSE };
    logFailure(name, result);
    return result;
  }
  const tokenConfig = readTokenConfig(body);
  return tokenConfig ? { models, tokenConfig } : { models };
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
};
