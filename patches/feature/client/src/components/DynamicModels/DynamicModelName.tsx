import React from 'react';
import { useDynamicModelsState } from '~/hooks/Config/useDynamicModelsState';
import { describeModelMeta, modelTooltip } from './dynamicModelsFormat';
import useDynamicModelsPhrase from './useDynamicModelsPhrase';

type DynamicModelNameProps = {
  /** The endpoint's name (`endpoint.value`) */
  endpoint: string;
  modelId: string | null;
  /** What LibreChat shows for the row without metadata (the id, an agent's name ...) */
  children: React.ReactNode;
};

/**
 * The name of a model row in the model menu: for a model of a dynamic endpoint with metadata,
 * its label (the raw id on hover), the description as its tooltip, and beside it the context
 * window, the price per 1M input / output tokens and vision / tools badges where known. In a
 * narrow row the label is truncated and the badges wrap onto a second line: a badge is never cut.
 * Anything else is rendered exactly as LibreChat does (`<span className="truncate">`).
 */
export default function DynamicModelName({ endpoint, modelId, children }: DynamicModelNameProps) {
  const state = useDynamicModelsState(endpoint);
  const phrase = useDynamicModelsPhrase();
  const meta = modelId != null ? state?.meta?.[modelId] : undefined;
  if (!meta || modelId == null) {
    return <span className="truncate">{children}</span>;
  }
  const badges = describeModelMeta(meta);
  const tooltip = modelTooltip(modelId, meta);
  return (
    <span
      className="flex min-w-0 flex-1 items-center gap-2"
      title={tooltip || undefined}
      data-model-id={modelId}
    >
      {/* The label gives way first (truncated, down to a third); badges wrap, never cut */}
      <span className="min-w-[35%] flex-1 truncate" data-dynamic-model-label="">
        {meta.label || children}
      </span>
      {badges.length > 0 && (
        <span
          className="flex min-w-0 flex-wrap items-center justify-end gap-1"
          data-dynamic-model-badges=""
        >
          {badges.map((badge) => (
            <span
              key={badge.key}
              className="shrink-0 whitespace-nowrap rounded-md border border-border-light px-1 text-xs leading-4 text-text-secondary"
            >
              {phrase(badge)}
            </span>
          ))}
        </span>
      )}
    </span>
  );
}
