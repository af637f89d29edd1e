import { useCallback } from 'react';
import { useLocalize } from '~/hooks';
import { localizePhrase } from './dynamicModelsFormat';
import type { TDynamicModelsPhrase } from './dynamicModelsFormat';

/** Renders a {@link TDynamicModelsPhrase} through LibreChat's own i18n (`useLocalize`) */
export default function useDynamicModelsPhrase() {
  const localize = useLocalize();
  return useCallback((phrase: TDynamicModelsPhrase) => localizePhrase(localize, phrase), [localize]);
}
