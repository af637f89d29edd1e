import { QueryClient } from '@tanstack/react-query';
import type * as t from '../src/types';
import { models as modelsURL, fetchUserModels as fetchUserModelsURL } from '../src/api-endpoints';
import { useFetchUserModelsMutation } from '../src/react-query/react-query-service';
import * as dataService from '../src/data-service';
import { QueryKeys } from '../src/keys';
import request from '../src/request';

type CapturedMutation = {
  mutationFn: (payload: t.TFetchUserModelsRequest) => Promise<t.TFetchUserModelsResponse>;
  options: {
    onSuccess?: (
      data: t.TFetchUserModelsResponse,
      variables: t.TFetchUserModelsRequest,
      context?: unknown,
    ) => void;
    onError?: (...args: unknown[]) => void;
  };
};

let mockQueryClient: QueryClient;

/**
 * Capture what the hook hands to `useMutation`, so its callbacks run against a real QueryClient
 * (jest.mock is hoisted above the imports).
 */
jest.mock('@tanstack/react-query', () => {
  const actual = jest.requireActual('@tanstack/react-query');
  return {
    ...actual,
    useQueryClient: () => mockQueryClient,
    useMutation: (mutationFn: unknown, options: unknown) => ({ mutationFn, options }),
  };
});

/** The token config query (v0.8.7 and later): a user's lists may carry user-scoped token config */
const tokenConfigKey = (QueryKeys as unknown as Record<string, string | undefined>).tokenConfig;

const response: t.TFetchUserModelsResponse = {
  models: { openAI: ['gpt-4o'], MyProxy: ['user-model-a', 'user-model-b'] },
  dynamic: { MyProxy: { source: 'user', fetchedAt: 1700000000000 } },
};

describe('fetchUserModels endpoint helper', () => {
  it('points to /api/models/fetch, next to the models helper', () => {
    expect(fetchUserModelsURL()).toMatch(/\/api\/models\/fetch$/);
    expect(fetchUserModelsURL()).toBe(`${modelsURL()}/fetch`);
  });
});

describe('dataService.fetchUserModels', () => {
  it('posts the payload to the endpoint helper URL and returns the answer', async () => {
    const post = jest.spyOn(request, 'post').mockResolvedValue(response);
    const payload = { endpoint: 'MyProxy', force: true };
    await expect(dataService.fetchUserModels(payload)).resolves.toEqual(response);
    expect(post).toHaveBeenCalledTimes(1);
    expect(post).toHaveBeenCalledWith(fetchUserModelsURL(), payload);
  });

  it('posts an empty payload as is', async () => {
    const post = jest.spyOn(request, 'post').mockResolvedValue(response);
    await dataService.fetchUserModels({});
    expect(post).toHaveBeenCalledWith(fetchUserModelsURL(), {});
  });
});

describe('useFetchUserModelsMutation', () => {
  beforeEach(() => {
    mockQueryClient = new QueryClient();
  });

  afterEach(() => {
    mockQueryClient.clear();
  });

  /** Plain call outside React: `useMutation` and `useQueryClient` are mocked above */
  const runHook = useFetchUserModelsMutation;
  const getCaptured = (options?: Parameters<typeof useFetchUserModelsMutation>[0]) =>
    runHook(options) as unknown as CapturedMutation;

  it('calls dataService.fetchUserModels with the variables', async () => {
    const spy = jest.spyOn(dataService, 'fetchUserModels').mockResolvedValue(response);
    const { mutationFn } = getCaptured();
    await expect(mutationFn({ endpoint: 'MyProxy' })).resolves.toEqual(response);
    expect(spy).toHaveBeenCalledWith({ endpoint: 'MyProxy' });
  });

  it('writes response.models into the [QueryKeys.models] query', () => {
    mockQueryClient.setQueryData([QueryKeys.models], { openAI: ['gpt-4o'], MyProxy: ['default'] });
    const { options } = getCaptured();
    options.onSuccess?.(response, { endpoint: 'MyProxy', force: true });
    expect(mockQueryClient.getQueryData([QueryKeys.models])).toEqual(response.models);
  });

  it("then calls the caller's onSuccess with the same arguments", () => {
    const onSuccess = jest.fn(() => {
      // the cache is already updated when the caller's callback runs
      expect(mockQueryClient.getQueryData([QueryKeys.models])).toEqual(response.models);
    });
    const { options } = getCaptured({ onSuccess });
    const variables = { force: false };
    options.onSuccess?.(response, variables, undefined);
    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onSuccess).toHaveBeenCalledWith(response, variables, undefined);
  });

  it('leaves the models query alone when the answer has no models', () => {
    const before = { openAI: ['gpt-4o'] };
    mockQueryClient.setQueryData([QueryKeys.models], before);
    const { options } = getCaptured();
    options.onSuccess?.({} as t.TFetchUserModelsResponse, {});
    expect(mockQueryClient.getQueryData([QueryKeys.models])).toEqual(before);
  });

  it('invalidates only the token config query, where the release has one, when a user list came back', () => {
    const invalidate = jest.spyOn(mockQueryClient, 'invalidateQueries');
    const { options } = getCaptured();
    options.onSuccess?.(response, {});
    expect(invalidate.mock.calls).toEqual(tokenConfigKey != null ? [[[tokenConfigKey]]] : []);
  });

  it('invalidates no query when only defaults came back', () => {
    const invalidate = jest.spyOn(mockQueryClient, 'invalidateQueries');
    const { options } = getCaptured();
    options.onSuccess?.(
      { ...response, dynamic: { MyProxy: { source: 'default', fetchedAt: null } } },
      {},
    );
    expect(invalidate).not.toHaveBeenCalled();
  });

  it('passes the other options through', () => {
    const onError = jest.fn();
    const { options } = getCaptured({ onError });
    expect(options.onError).toBe(onError);
  });
});
