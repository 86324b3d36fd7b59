// The oclif `strategies` hook: bitscrape's `crawl` fires it and registers what it returns.
/** @import { StrategiesHook } from 'bitscrape' */
import { randomTargetDefinition } from '../random-target.js';

/** @type {StrategiesHook} */
export default function strategies() {
  return [randomTargetDefinition];
}
