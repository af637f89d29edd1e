import React, { useCallback, useEffect, useState } from 'react';
import { Loader2, RefreshCw } from 'lucide-react';
import { useFetchUserModelsMutation } from 'librechat-data-provider/react-query';
import { useDynamicModelsState } from '~/hooks/Config/useDynamicModelsState';
import {
  describeDefaultsReason,
  describeFetchedAt,
  retryAfterSeconds,
} from './dynamicModelsFormat';
import type { TDynamicModelsPhrase } from './dynamicModelsFormat';
import useDynamicModelsPhrase from './useDynamicModelsPhrase';

type DynamicModelsRefreshProps = {
  /** The endpoint's name */
  endpoint: string;
  /**
   * The element of the surrounding menu to render as (the model menu passes its `MenuItem`, so
   * the control is reached with the arrow keys like the rows); a plain button otherwise.
   */
  item?: React.ElementType;
  className?: string;
};

/** Re-renders every `ms` while mounted, for "updated N minutes ago" and the 429 countdown */
function useNow(ms: number) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    /** A new pace starts from the current time (a countdown never shows a stale first figure) */
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/**
 * The refresh control of a dynamic endpoint (model menu and key dialog): refetches the user's
 * models with `force` (`POST /api/models/fetch`), shows when the list was fetched, a spinner while
 * it runs, why the defaults are shown, and after a 429 when it may be tried again (disabled until
 * then). Renders nothing for an endpoint that is not dynamic.
 */
export default function DynamicModelsRefresh({ endpoint, item, className }: DynamicModelsRefreshProps) {
  const state = useDynamicModelsState(endpoint);
  const phrase = useDynamicModelsPhrase();
  const { mutate, isLoading } = useFetchUserModelsMutation();
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [failed, setFailed] = useState(false);
  const now = useNow(retryAt != null ? 1000 : 30 * 1000);
  const waitSeconds = retryAt != null ? Math.ceil((retryAt - now) / 1000) : 0;
  const rateLimited = waitSeconds > 0;

  const refresh = useCallback(() => {
    if (isLoading || rateLimited) {
      return;
    }
    setFailed(false);
    mutate(
      { endpoint, force: true },
      {
        onSuccess: () => setRetryAt(null),
        onError: (error: unknown) => {
          const seconds = retryAfterSeconds(error);
          if (seconds != null) {
            setRetryAt(Date.now() + seconds * 1000);
          } else {
            setFailed(true);
          }
        },
      },
    );
  }, [endpoint, isLoading, mutate, rateLimited]);

  if (!state) {
    return null;
  }

  const lines: TDynamicModelsPhrase[] = [];
  if (isLoading) {
    lines.push({ key: 'com_ui_dynamic_models_refreshing' });
  } else {
    lines.push(describeFetchedAt(state.fetchedAt, now));
    const reason = describeDefaultsReason(state);
    if (reason) {
      lines.push(reason);
    }
    if (rateLimited) {
      lines.push({ key: 'com_ui_dynamic_models_rate_limited', values: { 0: waitSeconds } });
    } else if (failed) {
      lines.push({ key: 'com_ui_dynamic_models_reason_failed' });
    }
  }
  const label = phrase({ key: 'com_ui_dynamic_models_refresh', values: { 0: endpoint } });
  const disabled = isLoading || rateLimited;
  const icon = isLoading ? (
    <Loader2 className="size-4 shrink-0 animate-spin" aria-hidden="true" />
  ) : (
    <RefreshCw className="size-4 shrink-0" aria-hidden="true" />
  );
  const status = (
    <span role="status" aria-live="polite" className="flex min-w-0 flex-col text-xs text-text-secondary">
      {lines.map((line) => (
        <span key={line.key}>{phrase(line)}</span>
      ))}
    </span>
  );

  if (item) {
    const Item = item;
    return (
      <Item
        aria-label={label}
        aria-disabled={disabled || undefined}
        aria-busy={isLoading || undefined}
        data-dynamic-models-refresh={endpoint}
        className={className ?? 'flex w-full cursor-pointer items-center gap-2 rounded-lg px-2 py-1.5'}
        onClick={(event: React.MouseEvent) => {
          /** Keeps the menu open (ariakit skips hideOnClick for a prevented click) */
          event.preventDefault();
          refresh();
        }}
      >
        {icon}
        {status}
      </Item>
    );
  }

  return (
    <div className={className ?? 'flex items-center gap-2'} data-dynamic-models-refresh={endpoint}>
      <button
        type="button"
        onClick={refresh}
        disabled={disabled}
        aria-label={label}
        aria-busy={isLoading || undefined}
        title={label}
        className="rounded-md p-1.5 text-text-secondary hover:bg-surface-hover hover:text-text-primary focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring-primary disabled:opacity-50"
      >
        {icon}
      </button>
      {status}
    </div>
  );
}
