import { useCallback, useContext, useEffect, useMemo } from 'react';
import { atom, useRecoilState, useSetRecoilState } from 'recoil';
import { defaultContext } from '@tanstack/react-query';
import { Constants, DYNAMIC_MODELS_QUERY_KEY, QueryKeys } from 'librechat-data-provider';
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
  /** Set when the model is a saved agent's (its `provider` is the dynamic endpoint) */
  agent?: TModelAwayAgent;
};

/** The agent whose model went away: who may change it (only its owner is sent `author`) */
export type TModelAwayAgent = { id: string; name: string; owner: boolean };

type TAgentLike = {
  id?: string | null;
  name?: string | null;
  provider?: string | null;
  model?: string | null;
  author?: string | null;
  updatedAt?: string | null;
} | null;

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
 * The same rule for a saved agent (a conversation on the agents endpoint): its `model` on its
 * `provider`, dated by the agent's last update; `owner` when the API sent the agent's `author`
 * (it sends it to the author only) and it is `userId` when that is known.
 */
export function findAgentModelAway(
  agent: TAgentLike | undefined,
  modelsConfig: TModelsConfig | undefined,
  dynamic: TDynamicModelsState | undefined,
  userId?: string | null,
): TModelAway | null {
  if (!agent?.id) {
    return null;
  }
  const away = findModelAway(
    { endpoint: agent.provider, model: agent.model, updatedAt: agent.updatedAt ?? undefined },
    modelsConfig,
    dynamic,
  );
  if (!away) {
    return null;
  }
  const owner = !!agent.author && (!userId || agent.author === userId);
  return { ...away, agent: { id: agent.id, name: agent.name || agent.id, owner } };
}

/**
 * What a new conversation built from a preset or a model spec keeps: LibreChat's
 * `buildDefaultConvo` replaces a model its endpoint's list lacks with the list's first model;
 * on a dynamic endpoint (one with fetch state) the preset's model is kept instead, so that the
 * notice says it went away and offers the closest one. Nothing changes elsewhere.
 */
export function keepPresetModel<T extends { endpoint?: string | null; model?: string | null }>(
  conversation: T,
  preset: { endpoint?: string | null; model?: string | null } | null | undefined,
  modelsConfig: TModelsConfig | undefined,
  dynamic: TDynamicModelsState | undefined,
): T {
  const endpoint = conversation?.endpoint;
  const model = preset?.model;
  const list = endpoint ? modelsConfig?.[endpoint] : undefined;
  if (
    !endpoint ||
    !model ||
    preset?.endpoint !== endpoint ||
    !dynamic?.[endpoint] ||
    !Array.isArray(list) ||
    list.includes(model) ||
    conversation.model === model
  ) {
    return conversation;
  }
  return { ...conversation, model };
}

/**
 * `keepPresetModel` with the fetch state read when it is called (for `useNewConvo`, which
 * builds the conversation of a preset or a model spec): a stable function.
 */
export function useKeepPresetModel() {
  const queryClient = useContext(defaultContext);
  return useCallback(
    <T extends { endpoint?: string | null; model?: string | null }>(
      conversation: T,
      preset: { endpoint?: string | null; model?: string | null } | null | undefined,
      modelsConfig: TModelsConfig | undefined,
    ): T =>
      keepPresetModel(
        conversation,
        preset,
        modelsConfig,
        queryClient?.getQueryData<TDynamicModelsState>([...DYNAMIC_MODELS_QUERY_KEY]),
      ),
    [queryClient],
  );
}

/** Saved conversations already checked against `keepPresetModel` in this page (see below) */
const checkedConversations = new Set<string>();

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

  /**
   * A saved conversation opened by a page load is built (`useNewConvo`) before the page's first
   * `POST /api/models/fetch` answers; without fetch state `keepPresetModel` cannot tell the
   * endpoint is dynamic, and `buildDefaultConvo` has swapped an unlisted model for the list's first.
   * Once the state arrives, each saved conversation is checked once against its saved copy (the
   * conversation query LibreChat's route reads), so the notice shows instead of the silent swap;
   * a model the user picks afterwards is never undone.
   */
  const queryClient = useContext(defaultContext);
  useEffect(() => {
    const id = conversation?.conversationId;
    const endpoint = conversation?.endpoint;
    if (
      !conversation ||
      !id ||
      id === Constants.NEW_CONVO ||
      !endpoint ||
      !dynamic?.[endpoint] ||
      checkedConversations.has(id)
    ) {
      return;
    }
    checkedConversations.add(id);
    const saved = queryClient?.getQueryData<TConversationLike>([QueryKeys.conversation, id]);
    const kept = keepPresetModel(conversation, saved, modelsConfig, dynamic);
    if (kept !== conversation) {
      setConversation(kept);
    }
  }, [conversation, dynamic, modelsConfig, queryClient, setConversation]);

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
