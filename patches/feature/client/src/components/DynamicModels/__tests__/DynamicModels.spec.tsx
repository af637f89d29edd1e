import React from 'react';
import { act, fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { storeDynamicModelsState } from 'librechat-data-provider';
import type { TDynamicModelsSource } from 'librechat-data-provider';

const mockMutate = jest.fn();
let mockIsLoading = false;

jest.mock('librechat-data-provider/react-query', () => ({
  useFetchUserModelsMutation: () => ({ mutate: mockMutate, isLoading: mockIsLoading }),
}));

/** The release's English strings: locales/en/translation.json from v0.7.7, localization/languages/Eng.ts before */
function mockEnglishStrings(): Record<string, string> {
  try {
    return jest.requireActual('~/locales/en/translation.json');
  } catch {
    return jest.requireActual('~/localization/languages/Eng').default;
  }
}

/** LibreChat's `useLocalize` with its English strings, asked for a key (the feature fills the values) */
jest.mock('~/hooks', () => ({
  useLocalize: () => (key: string) => mockEnglishStrings()[key] ?? key,
}));

import { DynamicModelGroups, DynamicModelName, DynamicModelsRefresh } from '..';

const MINUTE = 60 * 1000;
const NOW = new Date('2026-12-07T12:00:00Z').getTime();
const t = mockEnglishStrings();

let queryClient: QueryClient;

function renderWith(ui: React.ReactElement, state?: Record<string, TDynamicModelsSource>) {
  if (state) {
    /** As `useFetchUserModelsMutation` stores an answer */
    storeDynamicModelsState(queryClient, state);
  }
  return render(<QueryClientProvider client={queryClient}>{ui}</QueryClientProvider>);
}

const proxy: TDynamicModelsSource = {
  source: 'user',
  fetchedAt: NOW - 7 * MINUTE,
  meta: {
    'openai/gpt-4o': {
      label: 'GPT-4o',
      description: 'The omni model',
      contextWindow: 128000,
      inputPrice: 2.5,
      outputPrice: 10,
      capabilities: ['vision', 'tools'],
    },
    'meta/llama': { contextWindow: 131072 },
  },
};

beforeEach(() => {
  jest.useFakeTimers({ now: NOW });
  queryClient = new QueryClient();
  mockMutate.mockReset();
  mockIsLoading = false;
});

afterEach(() => {
  jest.useRealTimers();
});

/** The proxy's openai/gpt-4o row, the one with every kind of metadata */
const renderProxyGpt4o = () =>
  renderWith(
    <DynamicModelName endpoint="MyProxy" modelId="openai/gpt-4o">
      openai/gpt-4o
    </DynamicModelName>,
    { MyProxy: proxy },
  );

describe('DynamicModelName', () => {
  it('shows the label, the id and description on hover, context, prices and badges', () => {
    renderProxyGpt4o();
    const name = screen.getByText('GPT-4o');
    expect(name.parentElement).toHaveAttribute('title', 'openai/gpt-4o\nThe omni model');
    expect(screen.getByText('128K context')).toBeInTheDocument();
    expect(screen.getByText('$2.50 / $10.00 per 1M')).toBeInTheDocument();
    expect(screen.getByText(t.com_ui_dynamic_models_vision)).toBeInTheDocument();
    expect(screen.getByText(t.com_ui_dynamic_models_tools)).toBeInTheDocument();
    expect(screen.queryByText('openai/gpt-4o')).toBeNull();
  });

  it('keeps the id as the name when no label is given, and shows only what is known', () => {
    renderWith(
      <DynamicModelName endpoint="MyProxy" modelId="meta/llama">
        meta/llama
      </DynamicModelName>,
      { MyProxy: proxy },
    );
    expect(screen.getByText('meta/llama')).toBeInTheDocument();
    expect(screen.getByText('128K context')).toBeInTheDocument();
    expect(screen.queryByText(/per 1M/)).toBeNull();
  });

  it('in a full row truncates the label, never a badge: the badges wrap, nothing clips them', () => {
    const long = { ...proxy.meta?.['openai/gpt-4o'], label: 'A very long label '.repeat(8) };
    renderWith(
      <DynamicModelName endpoint="MyProxy" modelId="openai/gpt-4o">
        openai/gpt-4o
      </DynamicModelName>,
      { MyProxy: { ...proxy, meta: { 'openai/gpt-4o': long } } },
    );
    /** In the real menu (v0.8.7, 1280 px) four badges did not fit: "Vision" showed as "Visio"
     * and "Tools" not at all. jsdom has no layout: the classes are what the browser check measures */
    const label = screen.getByText(/A very long label/);
    expect(label).toHaveClass('truncate', 'flex-1');
    const tools = screen.getByText(t.com_ui_dynamic_models_tools);
    expect(tools).toHaveClass('shrink-0', 'whitespace-nowrap');
    for (let box = tools.parentElement; box && box !== label.parentElement; box = box.parentElement) {
      expect(box).not.toHaveClass('overflow-hidden');
      expect(box).not.toHaveClass('truncate');
      expect(box).toHaveClass('flex-wrap');
    }
    expect(label).not.toHaveClass('shrink-0');
  });

  it("renders LibreChat's own name for models without metadata and other endpoints", () => {
    const { container } = renderWith(
      <>
        <DynamicModelName endpoint="MyProxy" modelId="unknown">
          unknown
        </DynamicModelName>
        <DynamicModelName endpoint="agents" modelId="agent_1">
          My agent
        </DynamicModelName>
      </>,
      { MyProxy: proxy },
    );
    expect(container.innerHTML).toBe(
      '<span class="truncate">unknown</span><span class="truncate">My agent</span>',
    );
  });
});

describe('DynamicModelGroups', () => {
  const rows = (ids: string[]) => ids.map((id) => <div key={id}>{id}</div>);
  const ids = ['openai/a', 'anthropic/b', 'openai/c', 'plain'];

  it('groups by provider/ prefix under headings when groupBy is prefix', () => {
    renderWith(
      <DynamicModelGroups endpoint="MyProxy" modelIds={ids}>
        {rows}
      </DynamicModelGroups>,
      { MyProxy: { ...proxy, groupBy: 'prefix' } },
    );
    const groups = screen.getAllByRole('group');
    expect(groups.map((group) => group.getAttribute('aria-label'))).toEqual([
      'openai',
      'anthropic',
      t.com_ui_dynamic_models_group_other,
    ]);
    expect(groups[0]).toHaveTextContent('openaiopenai/aopenai/c');
    expect(groups[2]).toHaveTextContent('plain');
  });

  it("renders LibreChat's rows as they are without groupBy", () => {
    const children = jest.fn(rows);
    renderWith(
      <DynamicModelGroups endpoint="MyProxy" modelIds={ids}>
        {children}
      </DynamicModelGroups>,
      { MyProxy: proxy },
    );
    expect(screen.queryAllByRole('group')).toEqual([]);
    expect(children).toHaveBeenCalledWith(ids);
  });

  it('no headings for a single group', () => {
    renderWith(
      <DynamicModelGroups endpoint="MyProxy" modelIds={['openai/a', 'openai/b']}>
        {rows}
      </DynamicModelGroups>,
      { MyProxy: { ...proxy, groupBy: 'prefix' } },
    );
    expect(screen.queryAllByRole('group')).toEqual([]);
  });
});

describe('DynamicModelsRefresh', () => {
  const refreshName = 'Refresh the models of MyProxy';

  it('renders nothing for an endpoint that is not dynamic', () => {
    const { container } = renderWith(<DynamicModelsRefresh endpoint="openAI" />, {
      MyProxy: proxy,
    });
    expect(container).toBeEmptyDOMElement();
  });

  it('refreshes with force for its endpoint, from the keyboard, labelled', async () => {
    const user = userEvent.setup({ advanceTimers: jest.advanceTimersByTime });
    renderWith(<DynamicModelsRefresh endpoint="MyProxy" />, { MyProxy: proxy });
    expect(screen.getByRole('status')).toHaveTextContent('Updated 7 minutes ago');
    await user.tab();
    const button = screen.getByRole('button', { name: refreshName });
    expect(button).toHaveFocus();
    await user.keyboard('{Enter}');
    expect(mockMutate).toHaveBeenCalledTimes(1);
    expect(mockMutate.mock.calls[0][0]).toEqual({ endpoint: 'MyProxy', force: true });
  });

  it('"updated N minutes ago" follows the clock', () => {
    renderWith(<DynamicModelsRefresh endpoint="MyProxy" />, { MyProxy: proxy });
    act(() => {
      jest.advanceTimersByTime(60 * MINUTE);
    });
    expect(screen.getByRole('status')).toHaveTextContent('Updated 1 hour ago');
  });

  it('shows a spinner and is busy while the fetch runs', () => {
    mockIsLoading = true;
    renderWith(<DynamicModelsRefresh endpoint="MyProxy" />, { MyProxy: proxy });
    const button = screen.getByRole('button', { name: refreshName });
    expect(button).toBeDisabled();
    expect(button).toHaveAttribute('aria-busy', 'true');
    expect(button.querySelector('.animate-spin')).not.toBeNull();
    expect(screen.getByRole('status')).toHaveTextContent(t.com_ui_dynamic_models_refreshing);
  });

  it.each([
    [{ source: 'default', fetchedAt: null }, 'com_ui_dynamic_models_reason_no_key'],
    [{ source: 'default', fetchedAt: NOW, error: 'unauthorized' }, 'com_ui_dynamic_models_reason_unauthorized'],
    [{ source: 'default', fetchedAt: NOW, error: 'blocked_url' }, 'com_ui_dynamic_models_reason_blocked_url'],
    [{ source: 'default', fetchedAt: NOW, error: 'filtered_out' }, 'com_ui_dynamic_models_reason_filtered_out'],
  ])('says why the defaults are shown (%p)', (state, key) => {
    renderWith(<DynamicModelsRefresh endpoint="MyProxy" />, {
      MyProxy: state as TDynamicModelsSource,
    });
    expect(screen.getByRole('status')).toHaveTextContent(t[key]);
  });

  it('on 429 says when it can be tried again and stays disabled until then', () => {
    mockMutate.mockImplementation((_payload, options) =>
      options.onError({ response: { status: 429, data: { error: 'rate_limited', retryAfter: 30 } } }),
    );
    renderWith(<DynamicModelsRefresh endpoint="MyProxy" />, { MyProxy: proxy });
    const button = screen.getByRole('button', { name: refreshName });
    fireEvent.click(button);
    expect(screen.getByRole('status')).toHaveTextContent('Too many refreshes: try again in 30 s');
    expect(button).toBeDisabled();
    act(() => {
      jest.advanceTimersByTime(10 * 1000);
    });
    expect(screen.getByRole('status')).toHaveTextContent('try again in 20 s');
    fireEvent.click(button);
    expect(mockMutate).toHaveBeenCalledTimes(1);
    act(() => {
      jest.advanceTimersByTime(21 * 1000);
    });
    expect(button).not.toBeDisabled();
    expect(screen.getByRole('status')).not.toHaveTextContent('Too many refreshes');
  });

  it('says so when a refresh fails otherwise', () => {
    mockMutate.mockImplementation((_payload, options) => options.onError(new Error('network')));
    renderWith(<DynamicModelsRefresh endpoint="MyProxy" />, { MyProxy: proxy });
    fireEvent.click(screen.getByRole('button', { name: refreshName }));
    expect(screen.getByRole('status')).toHaveTextContent(t.com_ui_dynamic_models_reason_failed);
  });

  it("renders as the menu's item when given one, and keeps the menu open on click", () => {
    const MenuItem = React.forwardRef<HTMLDivElement, React.HTMLAttributes<HTMLDivElement>>(
      function MenuItem(props, ref) {
        return <div ref={ref} role="menuitem" tabIndex={0} {...props} />;
      },
    );
    renderWith(<DynamicModelsRefresh endpoint="MyProxy" item={MenuItem} />, { MyProxy: proxy });
    const item = screen.getByRole('menuitem', { name: refreshName });
    const click = new MouseEvent('click', { bubbles: true, cancelable: true });
    act(() => {
      item.dispatchEvent(click);
    });
    expect(click.defaultPrevented).toBe(true);
    expect(mockMutate.mock.calls[0][0]).toEqual({ endpoint: 'MyProxy', force: true });
  });
});
