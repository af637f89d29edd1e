import React from 'react';
import { useDynamicModelsState } from '~/hooks/Config/useDynamicModelsState';
import { groupModelsByPrefix } from './dynamicModelsFormat';
import useDynamicModelsPhrase from './useDynamicModelsPhrase';

type DynamicModelGroupsProps = {
  /** The endpoint's name (`endpoint.value`) */
  endpoint: string;
  /** The ids LibreChat is about to render, in its order (after its search filter) */
  modelIds: string[];
  /** LibreChat's own row rendering for a list of ids */
  children: (modelIds: string[]) => React.ReactNode;
};

/**
 * With `models.groupBy: prefix` on a dynamic endpoint, renders the rows in groups by their
 * `provider/` prefix, each under a heading in LibreChat's menu group style; otherwise (or with
 * fewer than two groups) exactly LibreChat's own rows.
 */
export default function DynamicModelGroups({ endpoint, modelIds, children }: DynamicModelGroupsProps) {
  const state = useDynamicModelsState(endpoint);
  const phrase = useDynamicModelsPhrase();
  const groups = state?.groupBy === 'prefix' ? groupModelsByPrefix(modelIds) : [];
  if (groups.length < 2) {
    return <>{children(modelIds)}</>;
  }
  return (
    <>
      {groups.map(({ prefix, ids }) => {
        const heading = prefix ?? phrase({ key: 'com_ui_dynamic_models_group_other' });
        return (
          <div key={prefix ?? ''} role="group" aria-label={heading}>
            <div
              aria-hidden="true"
              className="cursor-default p-2 text-sm font-medium opacity-60 sm:py-1 sm:text-xs"
            >
              {heading}
            </div>
            {children(ids)}
          </div>
        );
      })}
    </>
  );
}
