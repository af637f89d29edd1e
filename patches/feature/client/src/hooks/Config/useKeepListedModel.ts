import { useEffect, useRef } from 'react';
import { useRecoilState, useRecoilValue } from 'recoil';
import { useGetModelsQuery } from 'librechat-data-provider/react-query';
import { modelAwayNoticeMounted } from './useModelAway';
import store from '~/store';

/**
 * Keeps the current conversation on a model its endpoint lists. When the model list of the
 * conversation's endpoint changes (a key saved or revoked, a refresh) and no longer has the
 * selected model, the conversation switches to the first model of the new list; a model that is
 * still listed is kept. A message naming an unlisted model would be refused by the server and
 * counted as an illegal-model violation. Reads the models query without fetching it.
 *
 * Where the chat form shows the notice of `useModelAway` (the series wire it next to the input),
 * nothing switches here, for a new conversation as for an existing one: the notice names the
 * model and why it went away, offers the closest listed model, and nothing is sent until the user
 * picks one. Without the notice (a series that does not wire it) the switch stays, so that no
 * request names the unlisted model.
 */
export default function useKeepListedModel(isAuthenticated: boolean) {
  const { data: modelsConfig } = useGetModelsQuery({ enabled: false });
  const [conversation, setConversation] = useRecoilState(store.conversationByIndex(0));
  const noticeShown = useRecoilValue(modelAwayNoticeMounted) > 0;
  /** endpoint -> its list as last seen, to act only when a list changes */
  const seenLists = useRef<Record<string, string>>({});

  useEffect(() => {
    if (!isAuthenticated || !modelsConfig) {
      return;
    }
    const previous = seenLists.current;
    const current: Record<string, string> = {};
    for (const [endpoint, list] of Object.entries(modelsConfig)) {
      current[endpoint] = JSON.stringify(list);
    }
    seenLists.current = current;

    const endpoint = conversation?.endpoint;
    const model = conversation?.model;
    if (
      noticeShown ||
      !conversation ||
      !endpoint ||
      !model ||
      previous[endpoint] === current[endpoint]
    ) {
      return;
    }
    const list = modelsConfig[endpoint];
    if (!Array.isArray(list) || list.length === 0 || list.includes(model)) {
      return;
    }
    setConversation({ ...conversation, model: list[0] });
  }, [isAuthenticated, modelsConfig, conversation, setConversation, noticeShown]);
}
