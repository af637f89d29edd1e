/** At most this many candidates (with the most shared tokens) are compared by edit distance */
export const CLOSEST_MODEL_EDIT_CANDIDATES = 64;

/** `openrouter/openai/gpt-4o` -> `openrouter`; an id without `/` has no prefix */
const providerOf = (id: string) => {
  const slash = id.indexOf('/');
  return slash > 0 ? id.slice(0, slash).toLowerCase() : '';
};

/** Lower-case words and numbers: `Claude-3.5-Sonnet@20241022` -> claude, 3, 5, sonnet, 20241022 */
const tokensOf = (id: string) =>
  new Set(id.toLowerCase().match(/[a-z]+|[0-9]+/g) ?? []);

/** Levenshtein distance, two rows (ids are at most 256 characters, as validateModel allows) */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The listed model closest to one that is not listed, the one rule the feature offers it by:
 * 1. only models with the same provider prefix (the part before the first `/`), if any has it;
 * 2. the most shared tokens (lower-case runs of letters or of digits);
 * 3. among those with the most (the first 64 of them), the smallest edit distance, ignoring case;
 * 4. then the list's own order.
 * Linear in the list plus 64 edit distances: about 10,000 ids cost one pass over their tokens.
 * @returns null when the list is empty or already has the model.
 */
export default function closestModel(model: string, list: readonly string[]): string | null {
  if (!list.length || list.includes(model)) {
    return null;
  }
  const prefix = providerOf(model);
  const sameProvider = prefix ? list.filter((id) => providerOf(id) === prefix) : [];
  const candidates = sameProvider.length ? sameProvider : list;
  const wanted = tokensOf(model);
  const scored = candidates.map((id, order) => {
    let shared = 0;
    for (const token of tokensOf(id)) {
      shared += wanted.has(token) ? 1 : 0;
    }
    return { id, order, shared };
  });
  scored.sort((a, b) => b.shared - a.shared || a.order - b.order);
  const target = model.toLowerCase();
  let best = scored[0];
  let bestDistance = Infinity;
  for (const candidate of scored.slice(0, CLOSEST_MODEL_EDIT_CANDIDATES)) {
    if (candidate.shared < best.shared) {
      break;
    }
    const distance = editDistance(target, candidate.id.toLowerCase());
    if (distance < bestDistance || (distance === bestDistance && candidate.order < best.order)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best.id;
}
