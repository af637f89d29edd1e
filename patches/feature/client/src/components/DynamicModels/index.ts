export { default as DynamicModelName } from './DynamicModelName';
export { default as DynamicModelGroups } from './DynamicModelGroups';
export { default as DynamicModelsRefresh } from './DynamicModelsRefresh';
