#!/usr/bin/env node
'use strict';
/**
 * Prints what the checkout's built model filters cost on worst-case lists (10,000 ids of 256
 * characters, adversarial for each pattern): CPU milliseconds per pattern, or the reason it is
 * refused. `node scripts/model-filters-timing.js /path/to/LibreChat` after the series is applied
 * and `npm run build:data-provider` ran. Figures only: nothing here asserts.
 */
const path = require('path');

const tree = process.argv[2];
if (!tree) {
  console.error('usage: node scripts/model-filters-timing.js LIBRECHAT_TREE');
  process.exit(2);
}
const { compileModelPattern, filterModelList } = require(path.resolve(tree, 'packages/data-provider'));

const list = (unit, length = 256) =>
  Array.from({ length: 10000 }, () => unit.repeat(length).slice(0, length));
const cases = [
  ['/^([\\w.]+-?)+:free$/', list('a', 33)], // the pattern, one 33-character id took ~4 s
  ['/a*b/', list('a')],
  ['/a{0,3}b/', list('a')],
  ['/^.*(a|b|c|d|e)x$/', list('a')],
  ['/(a|b|c|d)(a|b|c)x/', list('a')],
  ['/-\\d{4}-\\d{2}-\\d{2}$/', list('-1111')],
  ['/^gpt-4o(-mini)?$/', list('gpt-4o-mini')],
  [`*${'a?'.repeat(15)}b*`, list('a')],
  [`*${'a'.repeat(30)}b*${'a'.repeat(30)}b*`, list('a')],
  ['*a*a*a*a*a*a*a*a*a*a*a*a*x', list('a')],
  ['*ä?ä*', list('ß')],
  ['*gpt*', list('gp')],
];
for (const [pattern, models] of cases) {
  try {
    compileModelPattern(pattern);
  } catch (error) {
    console.log(`${pattern.padEnd(40)} refused: ${error.message}`);
    continue;
  }
  filterModelList(models.slice(0, 100), { include: [pattern] });
  const started = process.cpuUsage();
  filterModelList(models, { include: [pattern] });
  const used = process.cpuUsage(started);
  console.log(`${pattern.padEnd(40)} ${((used.user + used.system) / 1000).toFixed(1)} ms CPU`);
}
