import { QueryClient } from '@tanstack/react-query';
import type * as t from '../src/types';
import {
  DYNAMIC_MODELS_QUERY_KEY,
  mergeDynamicModelsState,
  storeDynamicModelsState,
} from '../src/dynamicModelsState';
import { useFetchUserModelsMutation } from '../src/react-query/react-query-service';
import * as pkg from '../src';

let mockQueryClient: QueryClient;

jest.mock('@tanstack/react-query', () => {
  const actual = jest.requireActual('@tanstack/react-query');
  return {
    ...actual,
    useQueryClient: () => mockQueryClient,
    useMutation: (mutationFn: unknown, options: unknown) => ({ mutationFn, options }),
  };
});

type Captured = {
  options: { onSuccess?: (data: t.TFetchUserModelsResponse, variables: t.TFetchUserModelsRequest) => void };
};

const proxyState: t.TDynamicModelsSource = {
  source: 'user',
  fetchedAt: 1700000000000,
  groupBy: 'prefix',
  meta: {
    'openai/gpt-4o': {
      label: 'GPT-4o',
      description: 'Omni model',
      contextWindow: 128000,
      inputPrice: 2.5,
      outputPrice: 10,
      capabilities: ['vision', 'tools'],
    },
  },
};

describe('DYNAMIC_MODELS_QUERY_KEY', () => {
  it("is ['dynamicModels'] and exported by the package", () => {
    expect(DYNAMIC_MODELS_QUERY_KEY).toEqual(['dynamicModels']);
    expect((pkg as Record<string, unknown>).DYNAMIC_MODELS_QUERY_KEY).toBe(DYNAMIC_MODELS_QUERY_KEY);
    expect((pkg as Record<string, unknown>).storeDynamicModelsState).toBe(storeDynamicModelsState);
  });
});

describe('mergeDynamicModelsState', () => {
  it('replaces the endpoints an answer names and keeps the others', () => {
    const previous = { A: { source: 'user', fetchedAt: 1 }, B: { source: 'default', fetchedAt: null } };
    const next = mergeDynamicModelsState(previous as t.TDynamicModelsState, {
      B: { source: 'user', fetchedAt: 2 },
    });
    expect(next).toEqual({ A: { source: 'user', fetchedAt: 1 }, B: { source: 'user', fetchedAt: 2 } });
    expect(previous.B).toEqual({ source: 'default', fetchedAt: null });
  });

  it('keeps the state as it was for an answer without dynamic, or with junk entries', () => {
    const previous = { A: { source: 'user', fetchedAt: 1 } } as t.TDynamicModelsState;
    expect(mergeDynamicModelsState(previous, undefined)).toEqual(previous);
    expect(mergeDynamicModelsState(undefined, null)).toEqual({});
    expect(
      mergeDynamicModelsState(previous, { B: null } as unknown as t.TDynamicModelsState),
    ).toEqual(previous);
  });
});

describe('useFetchUserModelsMutation keeps dynamic', () => {
  beforeEach(() => {
    mockQueryClient = new QueryClient();
  });

  const run = (response: t.TFetchUserModelsResponse, variables: t.TFetchUserModelsRequest = {}) => {
    const captured = useFetchUserModelsMutation() as unknown as Captured;
    captured.options.onSuccess?.(response, variables);
  };

  it('writes source, fetchedAt, error, meta and groupBy per endpoint under the key', () => {
    run({
      models: { MyProxy: ['openai/gpt-4o'], Other: ['x'] },
      dynamic: { MyProxy: proxyState, Other: { source: 'default', fetchedAt: null, error: 'unauthorized' } },
    });
    expect(mockQueryClient.getQueryData([...DYNAMIC_MODELS_QUERY_KEY])).toEqual({
      MyProxy: proxyState,
      Other: { source: 'default', fetchedAt: null, error: 'unauthorized' },
    });
  });

  it('an answer for one endpoint leaves the state of the others', () => {
    run({ models: {}, dynamic: { MyProxy: proxyState, Other: { source: 'user', fetchedAt: 5 } } });
    run(
      { models: {}, dynamic: { Other: { source: 'default', fetchedAt: 5, error: 'timeout' } } },
      { endpoint: 'Other', force: true },
    );
    expect(mockQueryClient.getQueryData([...DYNAMIC_MODELS_QUERY_KEY])).toEqual({
      MyProxy: proxyState,
      Other: { source: 'default', fetchedAt: 5, error: 'timeout' },
    });
  });

  it('keeps the state for the session (no garbage collection 5 minutes after the write)', () => {
    /** In node react-query never collects (isServer); in the browser a query without observers is
     * dropped after its cacheTime (5 minutes by default), and the readers mount no observer */
    run({ models: {}, dynamic: { MyProxy: proxyState } });
    expect(mockQueryClient.getQueryDefaults([...DYNAMIC_MODELS_QUERY_KEY])?.cacheTime).toBe(Infinity);
  });

  it('still calls the caller onSuccess', () => {
    const onSuccess = jest.fn();
    const captured = useFetchUserModelsMutation({ onSuccess }) as unknown as Captured;
    const response = { models: {}, dynamic: { MyProxy: proxyState } };
    captured.options.onSuccess?.(response, {});
    expect(onSuccess).toHaveBeenCalledWith(response, {});
  });
});
