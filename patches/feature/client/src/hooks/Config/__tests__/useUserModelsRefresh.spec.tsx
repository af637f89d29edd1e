import { act, renderHook } from '@testing-library/react';

const mockMutate = jest.fn();
const mockSetQueryData = jest.fn();
let mockMutationOptions: { onSuccess?: (response: unknown) => void } | undefined;

jest.mock('librechat-data-provider/react-query', () => ({
  useFetchUserModelsMutation: (options: typeof mockMutationOptions) => {
    mockMutationOptions = options;
    return { mutate: mockMutate };
  },
}));

jest.mock('@tanstack/react-query', () => ({
  ...jest.requireActual('@tanstack/react-query'),
  useQueryClient: () => ({ setQueryData: mockSetQueryData }),
}));

jest.mock('../useKeepListedModel', () => jest.fn());

import useUserModelsRefresh, { USER_MODELS_REFRESH_AFTER_HIDDEN_MS } from '../useUserModelsRefresh';

const MINUTE = 60 * 1000;
let visibility: DocumentVisibilityState = 'visible';

function setVisibility(state: DocumentVisibilityState) {
  visibility = state;
  act(() => {
    document.dispatchEvent(new Event('visibilitychange'));
  });
}

describe('useUserModelsRefresh', () => {
  beforeAll(() => {
    Object.defineProperty(document, 'visibilityState', {
      configurable: true,
      get: () => visibility,
    });
  });

  afterAll(() => {
    // fall back to jsdom's own getter on the prototype
    delete (document as { visibilityState?: DocumentVisibilityState }).visibilityState;
  });

  beforeEach(() => {
    jest.useFakeTimers();
    visibility = 'visible';
    mockMutate.mockReset();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('uses a 5 minute threshold', () => {
    expect(USER_MODELS_REFRESH_AFTER_HIDDEN_MS).toBe(5 * MINUTE);
  });

  it('refreshes once on mount when authenticated, without force', () => {
    const { rerender } = renderHook(({ auth }) => useUserModelsRefresh(auth), {
      initialProps: { auth: true },
    });
    expect(mockMutate).toHaveBeenCalledTimes(1);
    expect(mockMutate.mock.calls[0][0]).toEqual({});
    expect(mockMutate.mock.calls[0][0]).not.toHaveProperty('force');

    rerender({ auth: true });
    rerender({ auth: true });
    expect(mockMutate).toHaveBeenCalledTimes(1);
  });

  it('does not refresh when unauthenticated, and refreshes once on login', () => {
    const { rerender } = renderHook(({ auth }) => useUserModelsRefresh(auth), {
      initialProps: { auth: false },
    });
    expect(mockMutate).not.toHaveBeenCalled();

    rerender({ auth: true });
    expect(mockMutate).toHaveBeenCalledTimes(1);
  });

  it('ignores visibility changes when unauthenticated', () => {
    renderHook(() => useUserModelsRefresh(false));
    setVisibility('hidden');
    jest.advanceTimersByTime(10 * MINUTE);
    setVisibility('visible');
    expect(mockMutate).not.toHaveBeenCalled();
  });

  it('does not refresh when the tab returns after 4 minutes', () => {
    renderHook(() => useUserModelsRefresh(true));
    mockMutate.mockClear();

    setVisibility('hidden');
    jest.advanceTimersByTime(4 * MINUTE);
    setVisibility('visible');
    expect(mockMutate).not.toHaveBeenCalled();
  });

  it('refreshes once when the tab returns after exactly 5 minutes', () => {
    renderHook(() => useUserModelsRefresh(true));
    mockMutate.mockClear();

    setVisibility('hidden');
    jest.advanceTimersByTime(5 * MINUTE);
    setVisibility('visible');
    expect(mockMutate).toHaveBeenCalledTimes(1);
    expect(mockMutate.mock.calls[0][0]).toEqual({});
  });

  it('refreshes once when the tab returns after an hour, and not again on a short absence', () => {
    renderHook(() => useUserModelsRefresh(true));
    mockMutate.mockClear();

    setVisibility('hidden');
    jest.advanceTimersByTime(60 * MINUTE);
    setVisibility('visible');
    setVisibility('visible');
    expect(mockMutate).toHaveBeenCalledTimes(1);

    setVisibility('hidden');
    jest.advanceTimersByTime(1 * MINUTE);
    setVisibility('visible');
    expect(mockMutate).toHaveBeenCalledTimes(1);
  });

  it('makes no call and schedules no timer while hidden', () => {
    renderHook(() => useUserModelsRefresh(true));
    mockMutate.mockClear();

    setVisibility('hidden');
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(30 * MINUTE);
    expect(mockMutate).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('counts the time from the first hidden event', () => {
    renderHook(() => useUserModelsRefresh(true));
    mockMutate.mockClear();

    setVisibility('hidden');
    jest.advanceTimersByTime(3 * MINUTE);
    setVisibility('hidden');
    jest.advanceTimersByTime(2 * MINUTE);
    setVisibility('visible');
    expect(mockMutate).toHaveBeenCalledTimes(1);
  });

  it('treats a page loaded in a hidden tab as hidden since load', () => {
    visibility = 'hidden';
    renderHook(() => useUserModelsRefresh(true));
    expect(mockMutate).toHaveBeenCalledTimes(1);

    jest.advanceTimersByTime(6 * MINUTE);
    setVisibility('visible');
    expect(mockMutate).toHaveBeenCalledTimes(2);
  });

  it('removes its listener on unmount and on logout', () => {
    const { rerender, unmount } = renderHook(({ auth }) => useUserModelsRefresh(auth), {
      initialProps: { auth: true },
    });
    mockMutate.mockClear();

    rerender({ auth: false });
    setVisibility('hidden');
    jest.advanceTimersByTime(10 * MINUTE);
    setVisibility('visible');
    expect(mockMutate).not.toHaveBeenCalled();

    unmount();
    setVisibility('hidden');
    jest.advanceTimersByTime(10 * MINUTE);
    setVisibility('visible');
    expect(mockMutate).not.toHaveBeenCalled();
  });

  it('passes an error handler so failures stay silent', () => {
    renderHook(() => useUserModelsRefresh(true));
    const options = mockMutate.mock.calls[0][1];
    expect(typeof options.onError).toBe('function');
    expect(() => options.onError(new Error('400'))).not.toThrow();
  });

  it('keeps the dynamic map of each answer under the dynamicModels query key', () => {
    renderHook(() => useUserModelsRefresh(true));
    const dynamic = { LiteLLM: { source: 'user', fetchedAt: 1, keyChangedAt: 1 } };
    act(() => mockMutationOptions?.onSuccess?.({ models: {}, dynamic }));
    expect(mockSetQueryData).toHaveBeenCalledWith(['dynamicModels'], dynamic);
  });
});
