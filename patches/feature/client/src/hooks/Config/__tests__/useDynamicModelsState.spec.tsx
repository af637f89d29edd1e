import React from 'react';
import { act, renderHook, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { DYNAMIC_MODELS_QUERY_KEY } from 'librechat-data-provider';
import { useDynamicModelsState } from '../useDynamicModelsState';

function setup(endpoint?: string) {
  const queryClient = new QueryClient();
  const queryFn = jest.spyOn(queryClient, 'fetchQuery');
  const wrapper = ({ children }: { children: React.ReactNode }) => (
    <QueryClientProvider client={queryClient}>{children}</QueryClientProvider>
  );
  const hook = renderHook(() => (endpoint ? useDynamicModelsState(endpoint) : useDynamicModelsState()), {
    wrapper,
  });
  return { queryClient, queryFn, ...hook };
}

describe('useDynamicModelsState', () => {
  it("reads ['dynamicModels']: empty before the first answer, then each update", async () => {
    const { result, queryClient } = setup();
    expect(result.current).toEqual({});
    /** react-query notifies its observers after the current task */
    await act(async () => {
      queryClient.setQueryData([...DYNAMIC_MODELS_QUERY_KEY], {
        MyProxy: { source: 'user', fetchedAt: 1 },
      });
    });
    await waitFor(() => expect(result.current).toEqual({ MyProxy: { source: 'user', fetchedAt: 1 } }));
  });

  it('with an endpoint name gives that endpoint, undefined for one that is not dynamic', async () => {
    const { result, queryClient } = setup('MyProxy');
    expect(result.current).toBeUndefined();
    /** react-query notifies its observers after the current task */
    await act(async () => {
      queryClient.setQueryData([...DYNAMIC_MODELS_QUERY_KEY], {
        MyProxy: { source: 'default', fetchedAt: null, error: 'unreachable' },
      });
    });
    await waitFor(() =>
      expect(result.current).toEqual({ source: 'default', fetchedAt: null, error: 'unreachable' }),
    );
  });

  it('never fetches by itself', () => {
    const { queryFn } = setup();
    expect(queryFn).not.toHaveBeenCalled();
  });

  it('gives no state outside a QueryClientProvider', () => {
    const { result } = renderHook(() => useDynamicModelsState('MyProxy'));
    expect(result.current).toBeUndefined();
  });
});
