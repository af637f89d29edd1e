import React from 'react';
import type { TModelNotListedReason } from 'librechat-data-provider';
import type { TModelAway } from '~/hooks/Config/useModelAway';
import { useLocalize } from '~/hooks';
import { localizePhrase } from '~/components/DynamicModels/dynamicModelsFormat';

type Localize = ReturnType<typeof useLocalize>;

const reasonKeys: Record<TModelNotListedReason, string> = {
  key_changed: 'com_ui_model_away_key_changed',
  not_listed: 'com_ui_model_away_not_listed',
  no_key: 'com_ui_model_away_no_key',
};

/**
 * The sentence for a model the user's list lacks (the notice and the API's refusal), after the
 * agent's name when the model is a saved agent's.
 */
export function modelAwayMessage(
  away: Pick<TModelAway, 'model' | 'endpoint' | 'reason'> & { agentName?: string },
  localize: Localize,
): string {
  const key = reasonKeys[away.reason] ?? reasonKeys.not_listed;
  const sentence = localizePhrase(localize, { key, values: { 0: away.model, 1: away.endpoint } });
  if (!away.agentName) {
    return sentence;
  }
  const agent = localizePhrase(localize, {
    key: 'com_ui_model_away_agent',
    values: { 0: away.agentName },
  });
  return `${agent} ${sentence}`;
}

/** What the notice says may be done: choose a model, or (an agent's) ask its owner */
function nextStep(away: TModelAway): Parameters<Localize>[0] {
  if (!away.agent) {
    return 'com_ui_model_away_choose' as Parameters<Localize>[0];
  }
  return (
    away.agent.owner ? 'com_ui_model_away_agent_owner' : 'com_ui_model_away_agent_not_owner'
  ) as Parameters<Localize>[0];
}

/**
 * LibreChat's error map entry for the API's `model_not_listed` refusal
 * (`{ type, model, endpoint, reason }`, see `describeModelRefusal` in userModels.js).
 */
export const modelNotListedError = (
  json: { model?: string; endpoint?: string; reason?: TModelNotListedReason; agent?: string },
  localize: Localize,
) =>
  modelAwayMessage(
    {
      model: json.model ?? '',
      endpoint: json.endpoint ?? '',
      reason: json.reason ?? 'not_listed',
      agentName: typeof json.agent === 'string' ? json.agent : undefined,
    },
    localize,
  );

/**
 * One notice above the chat input when the conversation's model is not in its dynamic
 * endpoint's list: the model, why, that nothing is sent until a listed model is chosen, and a
 * button to use the closest listed model. Nothing switches without that click. For a saved
 * agent's model: the agent's name too, and the button (saving the model on the agent) for its
 * owner only; anyone else is told that only the owner can change it.
 */
export default function ModelAwayNotice({
  away,
  selectModel,
}: {
  away: TModelAway | null;
  selectModel: (model: string) => void;
}) {
  const localize = useLocalize();
  if (!away) {
    return null;
  }
  return (
    <div
      role="alert"
      aria-live="polite"
      data-testid="model-away-notice"
      className="mx-2 mb-2 flex flex-wrap items-center gap-2 rounded-xl border border-amber-500/30 bg-amber-500/5 px-3 py-2 text-sm text-gray-700 dark:text-gray-200"
    >
      <span className="flex-1">
        {modelAwayMessage({ ...away, agentName: away.agent?.name }, localize)}{' '}
        {localize(nextStep(away))}
      </span>
      {away.closest != null && (!away.agent || away.agent.owner) && (
        <button
          type="button"
          className="btn btn-neutral shrink-0 px-3 py-1 text-sm"
          onClick={() => selectModel(away.closest as string)}
        >
          {localizePhrase(localize, {
            key: away.agent ? 'com_ui_model_away_agent_use' : 'com_ui_model_away_use',
            values: { 0: away.closest },
          })}
        </button>
      )}
    </div>
  );
}
