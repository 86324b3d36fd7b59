// The public API of bitscrape, for plugins and programmatic use.
export type * from './core/wire/types.js';
export type * from './core/net/krpc-types.js';
export type { Clock, TimerHandle } from './core/net/clock.js';
export type { Transport, LocalEndpoint } from './core/net/transport.js';
// Traversal strategies: what a strategy plugin implements, and the `strategies` hook it answers.
// Types only: a plugin gets everything it needs at run time through StrategyContext.
export type * from './core/crawl/strategy.js';
export type { StrategiesHook, StrategiesHookOptions } from './cli/strategy-plugins.js';
