// The oclif `strategies` hook: bitscrape's `crawl` fires it and registers what it returns.
/** @import { StrategiesHook } from 'bitscrape' */
import { multiTableDefinition } from '../multi-table.js';

/** The plugin API this plugin needs: 2 hands strategies keyPart, contactIndex and endpointKey. */
const API = 2;

/** @type {StrategiesHook} */
export default function strategies({ api }) {
  // an older bitscrape would hand the strategy a context without those helpers: refuse up front
  // (bitscrape reports a hook that throws on one line and goes on without the plugin)
  if (!(api >= API)) throw new Error(`bitscrape-plugin-multi-table needs bitscrape's plugin API ${API} or later; this bitscrape speaks ${api ?? 'an older one'}: update bitscrape`);
  return [multiTableDefinition];
}
