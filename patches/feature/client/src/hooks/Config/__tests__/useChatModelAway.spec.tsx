import React from 'react';
import { RecoilRoot, useRecoilValue } from 'recoil';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { EModelEndpoint, storeDynamicModelsState } from 'librechat-data-provider';
import type {
  TConversation,
  TDynamicModelsState,
  TModelsConfig,
  TPreset,
} from 'librechat-data-provider';

let mockModels: TModelsConfig | undefined;
let mockAgent: Record<string, unknown> | undefined;
const mockMutate = jest.fn();

jest.mock('librechat-data-provider/react-query', () => ({
  useGetModelsQuery: () => ({ data: mockModels }),
}));
jest.mock('~/data-provider', () => ({
  ...jest.requireActual('~/data-provider'),
  useGetAgentByIdQuery: (id: string | null) => ({ data: id ? mockAgent : undefined }),
  useUpdateAgentMutation: () => ({ mutate: mockMutate, isLoading: false }),
}));

import store from '~/store';
import buildDefaultConvo from '~/utils/buildDefaultConvo';
import ModelAwayNotice from '~/components/Chat/Input/ModelAwayNotice';
import useChatModelAway from '../useChatModelAway';
import { findAgentModelAway, keepPresetModel } from '../useModelAway';

const LISTS: TModelsConfig = {
  openAI: ['gpt-4o'],
  LiteLLM: ['openai/gpt-4o-mini', 'claude-3'],
  [EModelEndpoint.agents]: [],
};
const KEYED: TDynamicModelsState = { LiteLLM: { source: 'user', fetchedAt: 1000 } };
const AGENT = {
  id: 'agent_1',
  name: 'Research',
  provider: 'LiteLLM',
  model: 'openai/gpt-4o',
  author: 'u-alice',
};

const agentConversation = {
  conversationId: 'c1',
  endpoint: EModelEndpoint.agents,
  agent_id: 'agent_1',
} as unknown as TConversation;

function setup(conversation: TConversation, dynamic: TDynamicModelsState = KEYED) {
  const queryClient = new QueryClient();
  storeDynamicModelsState(queryClient, dynamic);
  const wrapper = ({ children }: { children: React.ReactNode }) => (
    <QueryClientProvider client={queryClient}>
      <RecoilRoot
        initializeState={({ set }) => {
          set(store.conversationByIndex(0), conversation);
          set(store.user, { id: 'u-alice' } as never);
        }}
      >
        {children}
      </RecoilRoot>
    </QueryClientProvider>
  );
  return wrapper;
}

/** The chat form's use of the hook, as the ChatForm glue wires it */
function Form({ onSubmit }: { onSubmit: () => void }) {
  const { away, selectModel, guard } = useChatModelAway(0);
  const model = useRecoilValue(store.conversationByIndex(0))?.model;
  return (
    <>
      <ModelAwayNotice away={away} selectModel={selectModel} />
      <span data-testid="model">{model ?? ''}</span>
      <button type="button" onClick={guard(onSubmit)}>
        send
      </button>
    </>
  );
}

beforeEach(() => {
  mockModels = LISTS;
  mockAgent = AGENT;
  mockMutate.mockReset();
});

describe('findAgentModelAway', () => {
  it('names the agent, its model, why, the closest listed model and whether the user owns it', () => {
    expect(findAgentModelAway(AGENT, LISTS, KEYED, 'u-alice')).toEqual({
      endpoint: 'LiteLLM',
      model: 'openai/gpt-4o',
      reason: 'not_listed',
      closest: 'openai/gpt-4o-mini',
      agent: { id: 'agent_1', name: 'Research', owner: true },
    });
    const shared = { ...AGENT, author: undefined };
    expect(findAgentModelAway(shared, LISTS, KEYED, 'u-alice')?.agent?.owner).toBe(false);
  });

  it('is null for a listed model, a provider that is not dynamic, or no agent', () => {
    expect(findAgentModelAway({ ...AGENT, model: 'claude-3' }, LISTS, KEYED)).toBeNull();
    expect(findAgentModelAway({ ...AGENT, provider: 'openAI' }, LISTS, KEYED)).toBeNull();
    expect(findAgentModelAway(undefined, LISTS, KEYED)).toBeNull();
  });
});

describe('the chat form on an agent whose dynamic provider no longer lists its model', () => {
  it('the owner: one notice naming the agent and model, sending blocked, the offer saved on the agent', async () => {
    const onSubmit = jest.fn();
    const user = userEvent.setup();
    render(<Form onSubmit={onSubmit} />, { wrapper: setup(agentConversation) });

    const alerts = screen.getAllByRole('alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].textContent).toContain('Research');
    expect(alerts[0].textContent).toContain('openai/gpt-4o');
    expect(alerts[0].textContent).not.toContain('com_ui_model_away');

    await user.click(screen.getByRole('button', { name: 'send' }));
    expect(onSubmit).not.toHaveBeenCalled();

    await user.click(screen.getByRole('button', { name: /openai\/gpt-4o-mini/ }));
    expect(mockMutate).toHaveBeenCalledWith({
      agent_id: 'agent_1',
      data: { model: 'openai/gpt-4o-mini' },
    });
    /** Nothing switched on the conversation itself */
    expect(screen.getByTestId('model').textContent).toBe('');
  });

  it('anyone else: the explanation, no button, sending blocked', async () => {
    mockAgent = { ...AGENT, author: undefined };
    const onSubmit = jest.fn();
    const user = userEvent.setup();
    render(<Form onSubmit={onSubmit} />, { wrapper: setup(agentConversation) });
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Research');
    expect(alert.textContent).toContain('owner');
    expect(screen.queryByRole('button', { name: /gpt-4o-mini/ })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'send' }));
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('says nothing once the agent’s model is listed', () => {
    mockAgent = { ...AGENT, model: 'claude-3' };
    render(<Form onSubmit={jest.fn()} />, { wrapper: setup(agentConversation) });
    expect(screen.queryByRole('alert')).toBeNull();
  });
});

describe('a preset or model spec whose dynamic endpoint no longer lists its model', () => {
  const preset = { endpoint: 'LiteLLM', endpointType: 'custom', model: 'openai/gpt-4o' };
  /** What `useNewConvo` builds from a preset (or a spec's preset), with the feature's glue */
  const fromPreset = (dynamic: TDynamicModelsState | undefined) =>
    keepPresetModel(
      buildDefaultConvo({
        models: LISTS.LiteLLM,
        conversation: { conversationId: 'new', endpoint: 'LiteLLM' } as unknown as TConversation,
        endpoint: 'LiteLLM' as EModelEndpoint,
        lastConversationSetup: preset as unknown as TConversation,
      }),
      preset as Partial<TPreset>,
      LISTS,
      dynamic,
    );

  it('keeps the model (LibreChat would switch to the first listed one) and shows the notice', () => {
    const conversation = fromPreset(KEYED);
    expect(conversation.model).toBe('openai/gpt-4o');
    const onSubmit = jest.fn();
    render(<Form onSubmit={onSubmit} />, { wrapper: setup(conversation) });
    expect(screen.getAllByRole('alert')).toHaveLength(1);
    expect(screen.getByRole('alert').textContent).toContain('openai/gpt-4o');
    expect(screen.getByRole('button', { name: /openai\/gpt-4o-mini/ })).toBeTruthy();
  });

  it('leaves LibreChat’s choice alone where the endpoint is not dynamic or the model is listed', () => {
    expect(fromPreset(undefined).model).toBe('openai/gpt-4o-mini');
    const listed = { ...preset, model: 'claude-3' };
    const built = { endpoint: 'LiteLLM', model: 'claude-3' };
    expect(keepPresetModel(built, listed, LISTS, KEYED)).toBe(built);
  });
});
