import { useCallback, useMemo } from 'react';
import { useRecoilValue } from 'recoil';
import { useGetModelsQuery } from 'librechat-data-provider/react-query';
import { isAgentsEndpoint } from 'librechat-data-provider';
import { useGetAgentByIdQuery, useUpdateAgentMutation } from '~/data-provider';
import { isEphemeralAgent } from '~/common';
import useDynamicModelsState from './useDynamicModelsState';
import useModelAway, { findAgentModelAway } from './useModelAway';
import store from '~/store';

/**
 * `useModelAway` for the chat form of releases with saved agents (v0.8.0 and later): also the
 * model of the conversation's agent when the agent's dynamic `provider` no longer lists it.
 * `selectModel` then saves the closest model on the agent (its owner's click, never automatic:
 * only the owner gets the button); `guard` blocks sending in both cases.
 */
export default function useChatModelAway(index = 0) {
  const own = useModelAway(index);
  const conversation = useRecoilValue(store.conversationByIndex(index));
  const user = useRecoilValue(store.user);
  const { data: modelsConfig } = useGetModelsQuery({ enabled: false });
  const dynamic = useDynamicModelsState();
  const agentId =
    isAgentsEndpoint(conversation?.endpoint) &&
    conversation?.agent_id &&
    !isEphemeralAgent(conversation.agent_id)
      ? conversation.agent_id
      : null;
  /** The query LibreChat's own chat input reads for the agent (same key, VIEW permission) */
  const { data: agent } = useGetAgentByIdQuery(agentId);
  const updateAgent = useUpdateAgentMutation();

  const agentAway = useMemo(
    () => (agentId ? findAgentModelAway(agent, modelsConfig, dynamic, user?.id) : null),
    [agentId, agent, modelsConfig, dynamic, user?.id],
  );
  const away = own.away ?? agentAway;
  const { mutate } = updateAgent;

  const selectModel = useCallback(
    (model: string) => {
      if (!own.away && agentAway?.agent?.owner) {
        mutate({ agent_id: agentAway.agent.id, data: { model } });
        return;
      }
      own.selectModel(model);
    },
    [own, agentAway, mutate],
  );

  const guard = useCallback(
    <T extends (...args: never[]) => unknown>(submit: T) =>
      ((...args: Parameters<T>) => (away ? undefined : submit(...args))) as T,
    [away],
  );

  return { away, selectModel, guard, saving: updateAgent.isLoading };
}
