const { logger, normalizeEndpointName } = require('~/server/services/Config/userModelsCompat');
const { loadSharedModels } = require('~/server/controllers/ModelController');
const {
  takeForceSlot,
  overlayUserModelsWithState,
  getCustomEndpointsForRequest,
} = require('~/server/services/Config/userModels');

/**
 * `POST /api/models/fetch` body `{ endpoint?: string, force?: boolean }`: refreshes the
 * requesting user's model lists of the dynamic custom endpoints (or of one of them) and answers
 * `{ models, dynamic: { [endpoint]: { source, fetchedAt, error? } } }`.
 * Without `force` only lists older than 5 minutes are refetched; a forced fetch is allowed once
 * per user and endpoint every 10 seconds (429 `{ error: 'rate_limited', retryAfter }` beyond).
 * @param {ServerRequest} req
 * @param {ServerResponse} res
 */
async function fetchUserModelsController(req, res) {
  try {
    const body = req.body && typeof req.body === 'object' ? req.body : {};
    const { endpoint } = body;
    const force = body.force === true;

    const { dynamic: endpoints, filtered } = await getCustomEndpointsForRequest(req);
    let targets = endpoints;
    if (endpoint != null) {
      const name = typeof endpoint === 'string' ? normalizeEndpointName(endpoint) : null;
      targets = endpoints.filter((item) => item.name === name);
      if (targets.length === 0) {
        return res.status(400).send({ error: 'unknown_endpoint' });
      }
    }

    if (force && targets.length > 0) {
      const retryAfter = await takeForceSlot(
        req.user.id,
        targets.map((item) => item.name),
      );
      if (retryAfter > 0) {
        res.set('Retry-After', String(retryAfter));
        return res.status(429).send({ error: 'rate_limited', retryAfter });
      }
    }

    const modes = {};
    for (const item of targets) {
      modes[item.name] = force ? 'force' : 'refresh';
    }
    const shared = await loadSharedModels(req);
    const { models, dynamic } = await overlayUserModelsWithState(req, shared, {
      endpoints,
      filtered,
      modes,
      keyChanges: true,
    });
    res.status(200).send({ models, dynamic });
  } catch {
    logger.error('[dynamicModels] fetch request failed');
    res.status(500).send({ error: 'internal_error' });
  }
}

module.exports = { fetchUserModelsController };
