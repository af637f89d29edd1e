const dns = require('dns');
const net = require('net');
const http = require('http');
const https = require('https');
const axios = require('axios');
const { HttpsProxyAgent } = require('https-proxy-agent');
const { logger, readTokenConfig, keepsConfiguredAuthorization } = require('./userModelsCompat');

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
});

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
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
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
  ['fc00::', 7], // unique local (includes fd00:ec2::254, AWS metadata)
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
 * Lower-cased entries of DYNAMIC_MODELS_ALLOWED_HOSTS (comma-separated `host` or `host:port`),
 * IPv6 brackets removed from bare hosts.
 * @returns {string[]}
 */
function getAllowedHosts() {
  return (process.env.DYNAMIC_MODELS_ALLOWED_HOSTS ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * Whether the admin trusts the host of a user URL: listed in DYNAMIC_MODELS_ALLOWED_HOSTS (a bare
 * host on any port) or in LibreChat's `endpoints.allowedAddresses` (`host:port`, v0.8.6+).
 * @param {URL} url
 * @param {string[] | null} [allowedAddresses]
 * @returns {boolean}
 */
function isAllowedHost(url, allowedAddresses) {
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const bracketed = hostname.includes(':') ? `[${hostname}]` : hostname;
  const entries = [
    ...getAllowedHosts(),
    ...(Array.isArray(allowedAddresses) ? allowedAddresses : []).map((entry) =>
      String(entry).trim().toLowerCase(),
    ),
  ];
  return entries.some(
    (entry) =>
      entry === `${bracketed}:${port}` || entry.replace(/^\[|\]$/g, '') === hostname,
  );
}

/** @returns {number} Timeout of one upstream request in ms (DYNAMIC_MODELS_TIMEOUT_MS). */
function getTimeoutMs() {
  const value = parseInt(process.env.DYNAMIC_MODELS_TIMEOUT_MS ?? '', 10);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_TIMEOUT_MS;
}

/**
 * Checks a user-provided base URL: `https` only, and every address its host resolves to must be
 * public, unless the admin allows the host (DYNAMIC_MODELS_ALLOWED_HOSTS or
 * `endpoints.allowedAddresses`; then `http` is allowed too).
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
  if (url.username || url.password) {
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
 * Fetches the model list a user's credentials reach: `GET ${baseURL}/models` with
 * `Authorization: Bearer ${apiKey}`. It does not use LibreChat's `fetchModels`, which logs the
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
  lookup,
}) {
  let url;
  let agents = {};
  if (userProvidedURL) {
    const check = await checkUserBaseURL(baseURL, { lookup, allowedAddresses });
    if (!check.ok) {
      logFailure(name, check);
      return { error: check.error };
    }
    if (check.addresses) {
      const secure = check.url.protocol === 'https:';
      agents = secure
        ? { httpsAgent: createPinnedAgent(check.addresses, true) }
        : { httpAgent: createPinnedAgent(check.addresses, false) };
    }
  }

  try {
    url = new URL(`${String(baseURL ?? '').replace(/\/+$/, '')}/models`);
  } catch {
    const result = { error: userProvidedURL ? FetchErrors.BLOCKED_URL : FetchErrors.UNREACHABLE };
    logFailure(name, result);
    return result;
  }
  if (userIdQuery) {
    url.searchParams.append('user', userIdQuery);
  }

  const requestHeaders = { ...(userProvidedURL ? {} : (headers ?? {})) };
  const configured = Object.keys(requestHeaders).filter((key) => key.toLowerCase() === 'authorization');
  if (configured.length === 0 || !keepsConfiguredAuthorization) {
    /** As this release's `fetchModels`: the key is the Authorization header (see the compat) */
    configured.forEach((key) => delete requestHeaders[key]);
    requestHeaders.Authorization = `Bearer ${apiKey}`;
  }

  /** User URLs connect directly (pinned agents); PROXY is honoured for admin URLs, as in `fetchModels` */
  let proxy = userProvidedURL ? false : undefined;
  if (!userProvidedURL && process.env.PROXY && url.protocol === 'https:') {
    agents = { httpsAgent: new HttpsProxyAgent(process.env.PROXY) };
    proxy = false;
  }

  let response;
  try {
    response = await axios.get(url.toString(), {
      headers: requestHeaders,
      timeout: getTimeoutMs(),
      maxRedirects: 0,
      maxContentLength: MAX_RESPONSE_BYTES,
      proxy,
      transitional: { clarifyTimeoutError: true },
      validateStatus: (status) => status >= 200 && status < 300,
      ...agents,
    });
  } catch (error) {
    const result = classifyError(error);
    logFailure(name, result);
    return result;
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
  FetchErrors,
  isBlockedAddress,
  isAllowedHost,
  checkUserBaseURL,
  parseModelList,
  classifyError,
  fetchUserModelList,
};
