// Global setup for every test run.
// - Every test refuses non-loopback destinations (docs/architecture.md, "Tests set BITSCRAPE_LOOPBACK_ONLY").
// - When the run includes interop tests (test/interop/), one shared network of real libtorrent
//   nodes is started and provided as inject('libtorrent'). Tests that need another shape
//   (e.g. distinct IPs for BEP 33) start their own with startLibtorrentNetwork().
// A failed start is provided as inject('libtorrentError') rather than thrown, so the unit
// tests still run and report while every interop test fails with the reason.
import type { TestProject } from 'vitest/node';
import { startLibtorrentNetwork, type LibtorrentNetwork } from '../interop/harness/libtorrent-network.js';
import { SHARED_NETWORK } from '../interop/harness/provided.js';
import { startPostgres, type PostgresCluster } from './postgres.js';

/** Files that need the throwaway PostgreSQL cluster say so in their name. */
function isPostgresFile(path: string): boolean {
  return /postgres[^\\/]*\.test\.[cm]?[jt]s$/.test(path);
}

function isInteropFile(path: string): boolean {
  return /(^|[\\/])test[\\/]interop[\\/].*\.test\.[cm]?[jt]s$/.test(path);
}

/** The test files of this run: those vitest has collected, else the CLI filters' matches. */
async function filesOfRun(project: TestProject): Promise<string[]> {
  const collected = project.vitest.state.getPaths();
  if (collected.length > 0) return collected;
  const { testFiles } = await project.globTestFiles(project.vitest.config.filters);
  return testFiles;
}

export default async function setup(project: TestProject): Promise<void | (() => Promise<void>)> {
  process.env.BITSCRAPE_LOOPBACK_ONLY = '1';
  project.provide('libtorrent', null);
  project.provide('libtorrentError', null);
  project.provide('postgres', null);
  project.provide('postgresError', null);
  const files = await filesOfRun(project);
  const teardown: Array<() => Promise<void>> = [];

  if (files.some(isPostgresFile)) {
    try {
      const cluster: PostgresCluster = await startPostgres();
      project.provide('postgres', { base: cluster.base, host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password });
      teardown.push(() => cluster.stop());
    } catch (err) {
      project.provide('postgresError', `the test PostgreSQL cluster failed to start: ${(err as Error).message}`);
    }
  }
  const stopAll = async (): Promise<void> => {
    for (const t of teardown.splice(0).reverse()) await t();
  };

  if (!files.some(isInteropFile)) return stopAll;

  let network: LibtorrentNetwork;
  try {
    network = await startLibtorrentNetwork({ ...SHARED_NETWORK });
  } catch (err) {
    project.provide('libtorrentError', `shared libtorrent network failed to start: ${(err as Error).message}`);
    return stopAll;
  }
  project.provide('libtorrent', network.state);
  process.stderr.write(
    `[interop] ${SHARED_NETWORK.nodes} libtorrent nodes / ${SHARED_NETWORK.infohashes} info-hashes ready in ` +
      `${network.startupMs} ms on ${network.bootstrap.join(', ')}\n`,
  );
  teardown.push(() => network.stop());
  return stopAll;
}
