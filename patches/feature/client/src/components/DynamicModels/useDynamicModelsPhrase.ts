import { useCallback } from 'react';
import { useLocalize } from '~/hooks';
import type { TDynamicModelsPhrase } from './dynamicModelsFormat';

/** Renders a {@link TDynamicModelsPhrase} through LibreChat's own i18n (`useLocalize`) */
export default function useDynamicModelsPhrase() {
  const localize = useLocalize();
  return useCallback(
    ({ key, values }: TDynamicModelsPhrase) =>
      localize(key as Parameters<typeof localize>[0], values),
    [localize],
  );
}
