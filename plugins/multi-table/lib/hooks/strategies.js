// The oclif `strategies` hook: bitscrape's `crawl` fires it and registers what it returns.
/** @import { StrategiesHook } from 'bitscrape' */
import { multiTableDefinition } from '../multi-table.js';

/** @type {StrategiesHook} */
export default function strategies() {
  return [multiTableDefinition];
}
