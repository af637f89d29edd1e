import { act, renderHook } from '@testing-library/react';
import { EModelEndpoint, QueryKeys } from 'librechat-data-provider';

const mockFetchUserModels = jest.fn();
const mockUpdateMutateAsync = jest.fn();
const mockRevokeMutateAsync = jest.fn();
const mockUseRevokeUserKeyMutation = jest.fn();
const mockUseGetEndpointsQuery = jest.fn();
const mockInvalidateQueries = jest.fn();

jest.mock('librechat-data-provider/react-query', () => ({
  useUserKeyQuery: () => ({ data: undefined }),
  useGetEndpointsQuery: () => mockUseGetEndpointsQuery(),
  useUpdateUserKeysMutation: () => ({ mutateAsync: mockUpdateMutateAsync, isLoading: false }),
  useRevokeUserKeyMutation: (name: string) => {
    mockUseRevokeUserKeyMutation(name);
    return { mutateAsync: mockRevokeMutateAsync, isLoading: false };
  },
  useFetchUserModelsMutation: () => ({ mutate: mockFetchUserModels }),
}));

/** `useGetEndpointsQuery` comes from the client's data-provider from v0.7.7, from the package before */
jest.mock('~/data-provider', () => ({
  useGetEndpointsQuery: () => mockUseGetEndpointsQuery(),
}));

/** Lets the release's own key mutation run outside React, to read what it invalidates */
jest.mock('@tanstack/react-query', () => ({
  ...jest.requireActual('@tanstack/react-query'),
  useQueryClient: () => ({ invalidateQueries: mockInvalidateQueries }),
  useMutation: (_mutationFn: unknown, options: unknown) => ({ options }),
}));

import useUserKey from '../useUserKey';

/**
 * Whether the release's own `useUpdateUserKeysMutation` refetches the models query (v0.8.5 and
 * later): the hook then needs no unforced refresh when its forced one is rate limited.
 */
function keyMutationRefetchesModels(): boolean {
  const { useUpdateUserKeysMutation: createKeyMutation } = jest.requireActual(
    'librechat-data-provider/react-query',
  );
  const { options } = createKeyMutation();
  options.onSuccess({}, { name: 'MyProxy', value: '', expiresAt: '' });
  return mockInvalidateQueries.mock.calls.some(([key]) => key[0] === QueryKeys.models);
}

const endpointsConfig = {
  MyProxy: { type: EModelEndpoint.custom, userProvide: true, userProvideURL: false },
  [EModelEndpoint.openAI]: { userProvide: true },
};

/** Let the promise chains of saveUserKey / revokeUserKey settle */
const flush = () => act(async () => {});

describe('useUserKey refreshes the user models', () => {
  beforeEach(() => {
    mockUseGetEndpointsQuery.mockReturnValue({ data: endpointsConfig });
    mockUpdateMutateAsync.mockResolvedValue({});
    mockRevokeMutateAsync.mockResolvedValue({});
  });

  it('saves the key, then calls the mutation with force: true', async () => {
    const { result } = renderHook(() => useUserKey('MyProxy'));
    result.current.saveUserKey('{"apiKey":"sk-user"}', null);
    expect(mockUpdateMutateAsync).toHaveBeenCalledWith({
      name: 'MyProxy',
      value: '{"apiKey":"sk-user"}',
      expiresAt: '',
    });
    // not before the save has succeeded
    expect(mockFetchUserModels).not.toHaveBeenCalled();

    await flush();
    expect(mockFetchUserModels).toHaveBeenCalledTimes(1);
    expect(mockFetchUserModels.mock.calls[0][0]).toEqual({ endpoint: 'MyProxy', force: true });
  });

  it('does not refresh when the save fails', async () => {
    mockUpdateMutateAsync.mockRejectedValue(new Error('500'));
    const { result } = renderHook(() => useUserKey('MyProxy'));
    result.current.saveUserKey('{"apiKey":"sk-user"}', Date.now() + 60000);
    await flush();
    expect(mockFetchUserModels).not.toHaveBeenCalled();
  });

  it('revokes the key, then calls the mutation with force: true and the caller callback', async () => {
    const onSuccess = jest.fn();
    const onError = jest.fn();
    const { result } = renderHook(() => useUserKey('MyProxy'));
    expect(mockUseRevokeUserKeyMutation).toHaveBeenCalledWith('MyProxy');

    result.current.revokeUserKey({ onSuccess, onError });
    expect(mockRevokeMutateAsync).toHaveBeenCalledTimes(1);
    expect(mockFetchUserModels).not.toHaveBeenCalled();

    await flush();
    expect(mockFetchUserModels).toHaveBeenCalledTimes(1);
    expect(mockFetchUserModels.mock.calls[0][0]).toEqual({ endpoint: 'MyProxy', force: true });
    expect(onSuccess).toHaveBeenCalledTimes(1);
    expect(onError).not.toHaveBeenCalled();
  });

  it('does not refresh when the revoke fails, and reports the error', async () => {
    const error = new Error('500');
    mockRevokeMutateAsync.mockRejectedValue(error);
    const onSuccess = jest.fn();
    const onError = jest.fn();
    const { result } = renderHook(() => useUserKey('MyProxy'));
    result.current.revokeUserKey({ onSuccess, onError });
    await flush();
    expect(mockFetchUserModels).not.toHaveBeenCalled();
    expect(onSuccess).not.toHaveBeenCalled();
    expect(onError).toHaveBeenCalledWith(error);
  });

  it('ignores errors of the refresh itself', async () => {
    const { result } = renderHook(() => useUserKey('MyProxy'));
    result.current.saveUserKey('{"apiKey":"sk-user"}', null);
    await flush();
    const options = mockFetchUserModels.mock.calls[0][1];
    expect(typeof options.onError).toBe('function');
    expect(() => options.onError(new Error('400'))).not.toThrow();
  });

  it('refreshes without force when the forced refresh is rate limited, unless the key mutation refetches the models', async () => {
    const { result } = renderHook(() => useUserKey('MyProxy'));
    result.current.saveUserKey('{"apiKey":"sk-user"}', null);
    await flush();
    const options = mockFetchUserModels.mock.calls[0][1];
    options.onError({ response: { status: 429, data: { error: 'rate_limited', retryAfter: 7 } } });
    const fallbacks = keyMutationRefetchesModels() ? [] : [[{ endpoint: 'MyProxy' }]];
    expect(mockFetchUserModels.mock.calls.slice(1)).toEqual(fallbacks);

    options.onError({ response: { status: 400 } });
    options.onError(new Error('Network Error'));
    expect(mockFetchUserModels).toHaveBeenCalledTimes(1 + fallbacks.length);
  });

  it('does not call the mutation for endpoints that are not custom', async () => {
    const { result } = renderHook(() => useUserKey(EModelEndpoint.openAI));
    result.current.saveUserKey('sk-user', null);
    result.current.revokeUserKey();
    await flush();
    expect(mockUpdateMutateAsync).toHaveBeenCalledTimes(1);
    expect(mockRevokeMutateAsync).toHaveBeenCalledTimes(1);
    expect(mockFetchUserModels).not.toHaveBeenCalled();
  });
});
