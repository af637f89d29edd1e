import React from 'react';
import { RecoilRoot, useRecoilValue } from 'recoil';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, render, renderHook, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryKeys, storeDynamicModelsState } from 'librechat-data-provider';
import type { TConversation, TDynamicModelsState, TModelsConfig } from 'librechat-data-provider';

let mockModels: TModelsConfig | undefined;

jest.mock('librechat-data-provider/react-query', () => ({
  useGetModelsQuery: () => ({ data: mockModels }),
}));

/**
 * LibreChat's own useLocalize without the rest of `~/hooks` (whose theme context calls
 * `window.matchMedia` on import in v0.7, which jsdom lacks)
 */
jest.mock('~/hooks', () => ({ useLocalize: jest.requireActual('~/hooks/useLocalize').default }));

import store from '~/store';
import { useLocalize } from '~/hooks';
import ModelAwayNotice, { modelNotListedError } from '../ModelAwayNotice';
import useModelAway, { findModelAway } from '~/hooks/Config/useModelAway';

const LISTS: TModelsConfig = { openAI: ['gpt-4o'], LiteLLM: ['openai/gpt-4o-mini', 'claude-3'] };
const KEYED: TDynamicModelsState = { LiteLLM: { source: 'user', fetchedAt: 1000 } };

const conversationOf = (model: string, extra: Partial<TConversation> = {}) =>
  ({ conversationId: 'c1', endpoint: 'LiteLLM', model, ...extra }) as unknown as TConversation;

describe('findModelAway', () => {
  it('is null for a listed model, a non-dynamic endpoint or before any fetch state', () => {
    expect(findModelAway(conversationOf('claude-3'), LISTS, KEYED)).toBeNull();
    expect(findModelAway({ endpoint: 'openAI', model: 'gpt-x' }, LISTS, KEYED)).toBeNull();
    expect(findModelAway(conversationOf('gone'), LISTS, undefined)).toBeNull();
  });

  it('names the model, the reason and the closest listed model', () => {
    expect(findModelAway(conversationOf('openai/gpt-4o'), LISTS, KEYED)).toEqual({
      endpoint: 'LiteLLM',
      model: 'openai/gpt-4o',
      reason: 'not_listed',
      closest: 'openai/gpt-4o-mini',
    });
    const noKey = { LiteLLM: { source: 'default' as const, fetchedAt: null } };
    expect(findModelAway(conversationOf('gone'), LISTS, noKey)?.reason).toBe('no_key');
    const refused = { LiteLLM: { ...noKey.LiteLLM, error: 'unauthorized' as const } };
    expect(findModelAway(conversationOf('gone'), LISTS, refused)?.reason).toBe('not_listed');
  });

  it('says key_changed when the key changed after the conversation was last updated', () => {
    const changed = { LiteLLM: { ...KEYED.LiteLLM, keyChangedAt: Date.parse('2026-12-07') } };
    const older = conversationOf('gone', { updatedAt: '2026-12-01T00:00:00Z' });
    const newer = conversationOf('gone', { updatedAt: '2026-12-08T00:00:00Z' });
    expect(findModelAway(older, LISTS, changed)?.reason).toBe('key_changed');
    expect(findModelAway(newer, LISTS, changed)?.reason).toBe('not_listed');
  });
});

function setup(conversation: TConversation, dynamic: TDynamicModelsState = KEYED) {
  const queryClient = new QueryClient();
  storeDynamicModelsState(queryClient, dynamic);
  const wrapper = ({ children }: { children: React.ReactNode }) => (
    <QueryClientProvider client={queryClient}>
      <RecoilRoot initializeState={({ set }) => set(store.conversationByIndex(0), conversation)}>
        {children}
      </RecoilRoot>
    </QueryClientProvider>
  );
  return wrapper;
}

function Form({ onSubmit }: { onSubmit: () => void }) {
  const { away, selectModel, guard } = useModelAway(0);
  const model = useRecoilValue(store.conversationByIndex(0))?.model;
  return (
    <>
      <ModelAwayNotice away={away} selectModel={selectModel} />
      <span data-testid="model">{model}</span>
      <button type="button" onClick={guard(onSubmit)}>
        send
      </button>
    </>
  );
}

describe('ModelAwayNotice with useModelAway', () => {
  beforeEach(() => {
    mockModels = LISTS;
  });

  it('shows one alert, switches nothing, blocks sending, and uses the offer on Enter', async () => {
    const onSubmit = jest.fn();
    const user = userEvent.setup();
    render(<Form onSubmit={onSubmit} />, { wrapper: setup(conversationOf('openai/gpt-4o')) });

    const alerts = screen.getAllByRole('alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].textContent).toContain('openai/gpt-4o');
    expect(alerts[0].textContent).toContain('LiteLLM');
    expect(screen.getByTestId('model').textContent).toBe('openai/gpt-4o');

    await user.click(screen.getByRole('button', { name: 'send' }));
    expect(onSubmit).not.toHaveBeenCalled();

    const use = screen.getByRole('button', { name: /openai\/gpt-4o-mini/ });
    use.focus();
    await user.keyboard('{Enter}');
    expect(screen.getByTestId('model').textContent).toBe('openai/gpt-4o-mini');
    expect(screen.queryByRole('alert')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'send' }));
    expect(onSubmit).toHaveBeenCalledTimes(1);
  });

  it('gives a reopened chat its saved model back once the fetch state arrives, then never again', async () => {
    /** A page load built the saved chat before the first fetch answered: buildDefaultConvo had
     * swapped its unlisted model for the list's first, and nothing said so */
    const queryClient = new QueryClient();
    queryClient.setQueryData([QueryKeys.conversation, 'reopened'], conversationOf('openai/gpt-4o'));
    const swapped = conversationOf('openai/gpt-4o-mini', { conversationId: 'reopened' });
    const user = userEvent.setup();
    render(<Form onSubmit={jest.fn()} />, {
      wrapper: ({ children }: { children: React.ReactNode }) => (
        <QueryClientProvider client={queryClient}>
          <RecoilRoot initializeState={({ set }) => set(store.conversationByIndex(0), swapped)}>
            {children}
          </RecoilRoot>
        </QueryClientProvider>
      ),
    });
    expect(screen.queryByRole('alert')).toBeNull();

    act(() => storeDynamicModelsState(queryClient, KEYED));
    expect(screen.getByTestId('model').textContent).toBe('openai/gpt-4o');
    expect(screen.getAllByRole('alert')).toHaveLength(1);

    await user.click(screen.getByRole('button', { name: /openai\/gpt-4o-mini/ }));
    act(() => storeDynamicModelsState(queryClient, { LiteLLM: { source: 'user', fetchedAt: 2000 } }));
    expect(screen.getByTestId('model').textContent).toBe('openai/gpt-4o-mini');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says why: no key, key changed, not listed (localized)', () => {
    const { unmount } = render(<Form onSubmit={jest.fn()} />, {
      wrapper: setup(conversationOf('gone'), { LiteLLM: { source: 'default', fetchedAt: null } }),
    });
    const noKey = screen.getByRole('alert').textContent;
    unmount();
    render(<Form onSubmit={jest.fn()} />, {
      wrapper: setup(conversationOf('gone'), { LiteLLM: { ...KEYED.LiteLLM, keyChangedAt: 5 } }),
    });
    const keyChanged = screen.getByRole('alert').textContent;
    expect(noKey).not.toEqual(keyChanged);
    expect(noKey).not.toContain('com_ui_model_away');
    expect(keyChanged).not.toContain('com_ui_model_away');
  });

  it('renders nothing while the model is listed', () => {
    render(<Form onSubmit={jest.fn()} />, { wrapper: setup(conversationOf('claude-3')) });
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('localizes the API’s model_not_listed refusal', () => {
    const { result } = renderHook(() => useLocalize(), {
      wrapper: setup(conversationOf('claude-3')),
    });
    const text = modelNotListedError(
      { model: 'gone', endpoint: 'LiteLLM', reason: 'key_changed' },
      result.current,
    );
    expect(text).toContain('gone');
    expect(text).not.toContain('com_ui_model_away');
  });
});
