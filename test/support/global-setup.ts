// Global setup: the interop suite's libtorrent network is started here (see test/interop/harness).
export default async function setup(): Promise<void | (() => Promise<void>)> {
  process.env.BITSCRAPE_LOOPBACK_ONLY = '1';
}
