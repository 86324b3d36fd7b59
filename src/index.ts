// The public API of bitscrape, for plugins and programmatic use.
export type * from './core/wire/types.js';
export type * from './core/net/krpc-types.js';
export type { Clock, TimerHandle } from './core/net/clock.js';
export type { Transport, LocalEndpoint } from './core/net/transport.js';
