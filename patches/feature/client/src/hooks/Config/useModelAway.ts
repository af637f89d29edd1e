import { useCallback, useEffect, useMemo } from 'react';
import { atom, useRecoilState, useSetRecoilState } from 'recoil';
import { useGetModelsQuery } from 'librechat-data-provider/react-query';
import type {
  TDynamicModelsState,
  TModelNotListedReason,
  TModelsConfig,
} from 'librechat-data-provider';
import useDynamicModelsState from './useDynamicModelsState';
import closestModel from './closestModel';
import store from '~/store';

/** A conversation's model that its dynamic endpoint's current list lacks */
export type TModelAway = {
  endpoint: string;
  model: string;
  reason: TModelNotListedReason;
  /** The listed model `closestModel` offers; null when the list is empty */
  closest: string | null;
};

type TConversationLike = {
  endpoint?: string | null;
  model?: string | null;
  updatedAt?: string;
} | null;

/**
 * Whether the notice is mounted (by the chat form): while it is, `useKeepListedModel` switches
 * nothing, the notice offers the switch instead.
 */
export const modelAwayNoticeMounted = atom<number>({
  key: 'dynmodelsModelAwayNoticeMounted',
  default: 0,
});

/**
 * Why the conversation's model is not in its endpoint's list, or null when it is listed or the
 * endpoint is not dynamic (no state from `POST /api/models/fetch`): `no_key` when the defaults
 * are shown without a fetch error, `key_changed` when the key changed after the conversation was
 * last updated (or it has no date), else `not_listed`.
 */
export function findModelAway(
  conversation: TConversationLike,
  modelsConfig: TModelsConfig | undefined,
  dynamic: TDynamicModelsState | undefined,
): TModelAway | null {
  const endpoint = conversation?.endpoint;
  const model = conversation?.model;
  const state = endpoint ? dynamic?.[endpoint] : undefined;
  const list = endpoint ? modelsConfig?.[endpoint] : undefined;
  if (!endpoint || !model || !state || !Array.isArray(list) || list.includes(model)) {
    return null;
  }
  let reason: TModelNotListedReason = 'not_listed';
  const updatedAt = conversation?.updatedAt ? Date.parse(conversation.updatedAt) : NaN;
  if (state.source === 'default' && !state.error) {
    reason = 'no_key';
  } else if (state.keyChangedAt && !(updatedAt > state.keyChangedAt)) {
    reason = 'key_changed';
  }
  return { endpoint, model, reason, closest: closestModel(model, list) };
}

/**
 * The model of conversation `index` when its dynamic endpoint's list lacks it: what the notice
 * shows, `selectModel` to switch to a listed model (the user's choice, never automatic), and
 * `guard` to wrap a submit handler so that nothing is sent with the missing model.
 */
export default function useModelAway(index = 0) {
  const { data: modelsConfig } = useGetModelsQuery({ enabled: false });
  const dynamic = useDynamicModelsState();
  const [conversation, setConversation] = useRecoilState(store.conversationByIndex(index));
  const setMounted = useSetRecoilState(modelAwayNoticeMounted);

  useEffect(() => {
    setMounted((count) => count + 1);
    return () => setMounted((count) => count - 1);
  }, [setMounted]);

  const away = useMemo(
    () => findModelAway(conversation as TConversationLike, modelsConfig, dynamic),
    [conversation, modelsConfig, dynamic],
  );

  const selectModel = useCallback(
    (model: string) => {
      setConversation((current) => (current ? { ...current, model } : current));
    },
    [setConversation],
  );

  const guard = useCallback(
    <T extends (...args: never[]) => unknown>(submit: T) =>
      ((...args: Parameters<T>) => (away ? undefined : submit(...args))) as T,
    [away],
  );

  return { away, selectModel, guard };
}
