import React from 'react';
import { RecoilRoot, useRecoilState } from 'recoil';
import { act, renderHook } from '@testing-library/react';
import type { TConversation, TModelsConfig } from 'librechat-data-provider';

let mockModels: TModelsConfig | undefined;

jest.mock('librechat-data-provider/react-query', () => ({
  useGetModelsQuery: () => ({ data: mockModels }),
}));

import store from '~/store';
import useKeepListedModel from '../useKeepListedModel';
import { modelAwayNoticeMounted } from '../useModelAway';

const DEFAULTS: TModelsConfig = { openAI: ['gpt-4o'], LiteLLM: ['gpt-4o-mini'] };
const ALICE: TModelsConfig = { openAI: ['gpt-4o'], LiteLLM: ['alice-1', 'alice-2'] };

let noticeMounted = 0;

function useConversationWithGuard(isAuthenticated: boolean) {
  useKeepListedModel(isAuthenticated);
  return useRecoilState(store.conversationByIndex(0));
}

/** A conversation on an endpoint (a custom endpoint's name, which older releases do not type) */
function renderGuard(
  conversation: { endpoint: string; model: string; conversationId?: string | null },
  isAuthenticated = true,
) {
  const wrapper = ({ children }: { children: React.ReactNode }) => (
    <RecoilRoot initializeState={({ set }) => set(modelAwayNoticeMounted, noticeMounted)}>
      {children}
    </RecoilRoot>
  );
  const view = renderHook(({ auth }) => useConversationWithGuard(auth), {
    wrapper,
    initialProps: { auth: isAuthenticated },
  });
  act(() => {
    view.result.current[1]({ conversationId: 'new', ...conversation } as unknown as TConversation);
  });
  return view;
}

/** The models query answers a new list (what the refresh mutation writes into it) */
function listsChange(view: ReturnType<typeof renderGuard>, models: TModelsConfig, auth = true) {
  mockModels = models;
  view.rerender({ auth });
}

const selectedModel = (view: ReturnType<typeof renderGuard>) => view.result.current[0]?.model;

describe('useKeepListedModel', () => {
  beforeEach(() => {
    mockModels = DEFAULTS;
    noticeMounted = 0;
  });

  it('switches a new chat whose default the key change took away, even with the notice shown', () => {
    noticeMounted = 1;
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'gpt-4o-mini' });
    listsChange(view, ALICE);
    expect(selectedModel(view)).toBe('alice-1');
  });

  it('switches a new chat without an id yet after the key is revoked, with the notice shown', () => {
    noticeMounted = 1;
    mockModels = ALICE;
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'alice-2', conversationId: null });
    listsChange(view, DEFAULTS);
    expect(selectedModel(view)).toBe('gpt-4o-mini');
  });

  it('switches nothing in an existing conversation while the notice is shown (it offers the switch)', () => {
    noticeMounted = 1;
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'gpt-4o-mini', conversationId: 'c-1' });
    listsChange(view, ALICE);
    expect(selectedModel(view)).toBe('gpt-4o-mini');
  });

  it('keeps a new chat’s preset model that was unlisted before the change while the notice is shown', () => {
    noticeMounted = 1;
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'preset-gone' });
    listsChange(view, ALICE);
    expect(selectedModel(view)).toBe('preset-gone');
  });

  it('switches an existing conversation when no notice is mounted', () => {
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'gpt-4o-mini', conversationId: 'c-1' });
    listsChange(view, ALICE);
    expect(selectedModel(view)).toBe('alice-1');
  });

  it('switches the selected model to the first of the user’s list after a key is saved', () => {
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'gpt-4o-mini' });
    listsChange(view, ALICE);
    expect(selectedModel(view)).toBe('alice-1');
  });

  it('switches back to a listed model after the key is revoked', () => {
    mockModels = ALICE;
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'alice-2' });
    listsChange(view, DEFAULTS);
    expect(selectedModel(view)).toBe('gpt-4o-mini');
  });

  it('keeps a selected model that the new list still has', () => {
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'alice-2' });
    listsChange(view, ALICE);
    expect(selectedModel(view)).toBe('alice-2');
  });

  it('leaves a conversation alone when its endpoint’s list did not change', () => {
    const view = renderGuard({ endpoint: 'openAI', model: 'gpt-4-legacy' });
    listsChange(view, ALICE);
    expect(selectedModel(view)).toBe('gpt-4-legacy');
  });

  it('does nothing for a logged-out user', () => {
    const view = renderGuard({ endpoint: 'LiteLLM', model: 'gpt-4o-mini' }, false);
    listsChange(view, ALICE, false);
    expect(selectedModel(view)).toBe('gpt-4o-mini');
  });
});
