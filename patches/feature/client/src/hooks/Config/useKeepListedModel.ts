import { useEffect, useRef } from 'react';
import { useRecoilState, useRecoilValue } from 'recoil';
import { Constants } from 'librechat-data-provider';
import { useGetModelsQuery } from 'librechat-data-provider/react-query';
import { modelAwayNoticeMounted } from './useModelAway';
import store from '~/store';

/**
 * Keeps the current conversation on a model its endpoint lists. When the model list of the
 * conversation's endpoint changes (a key saved, replaced or revoked, a refresh) and no longer has
 * the selected model, the conversation switches to the first model of the new list; a model that
 * is still listed is kept. A message naming an unlisted model would be refused by the server and
 * counted as an illegal-model violation. Reads the models query without fetching it.
 *
 * Where the chat form shows the notice of `useModelAway` (the series wire it next to the input),
 * the notice decides instead, with one exception:
 * - a new conversation (no id yet, or `Constants.NEW_CONVO`) whose model was in the endpoint's
 *   previous list and is not in the changed one still switches: the user never chose that model
 *   for this chat, it was the default the key change took away, so the menu shows the new list
 *   with one of its models selected and no notice;
 * - an existing conversation, and a new one whose model was already unlisted before the change (a
 *   preset or model spec whose model went away, kept by `keepPresetModel` so the notice shows),
 *   switch nothing: the notice names the model and why it went away, offers the closest listed
 *   model, and nothing is sent until the user picks one.
 * Without the notice (a series that does not wire it) every conversation switches, so that no
 * request names the unlisted model.
 */
export default function useKeepListedModel(isAuthenticated: boolean) {
  const { data: modelsConfig } = useGetModelsQuery({ enabled: false });
  const [conversation, setConversation] = useRecoilState(store.conversationByIndex(0));
  const noticeShown = useRecoilValue(modelAwayNoticeMounted) > 0;
  /** endpoint -> its list as last seen, to act only when a list changes */
  const seenLists = useRef<Record<string, { key: string; list: unknown }>>({});

  useEffect(() => {
    if (!isAuthenticated || !modelsConfig) {
      return;
    }
    const previous = seenLists.current;
    const current: Record<string, { key: string; list: unknown }> = {};
    for (const [endpoint, list] of Object.entries(modelsConfig)) {
      current[endpoint] = { key: JSON.stringify(list), list };
    }
    seenLists.current = current;

    const endpoint = conversation?.endpoint;
    const model = conversation?.model;
    if (
      !conversation ||
      !endpoint ||
      !model ||
      previous[endpoint]?.key === current[endpoint]?.key
    ) {
      return;
    }
    const list = modelsConfig[endpoint];
    if (!Array.isArray(list) || list.length === 0 || list.includes(model)) {
      return;
    }
    if (noticeShown) {
      const id = conversation.conversationId;
      const isNew = !id || id === Constants.NEW_CONVO;
      const before = previous[endpoint]?.list;
      if (!isNew || !Array.isArray(before) || !before.includes(model)) {
        return;
      }
    }
    setConversation({ ...conversation, model: list[0] });
  }, [isAuthenticated, modelsConfig, conversation, setConversation, noticeShown]);
}
