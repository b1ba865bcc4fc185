import { OutputsError } from '../../errors';
import type { Logger } from '../../log';
import { parseHttpAddress } from './address';
import { startLiveServer, type LiveServer } from './server';
import type { LiveSource } from './source';

export { startLiveServer, type LiveServer, type LiveServerOptions } from './server';
export { liveSourceOf, type WatcherSourceOptions } from './watcherSource';
export { parseHttpAddress, isLoopbackHost, type HttpAddress } from './address';
export type { ImageBytes, LiveSource, ServerHealth, SinkHealth } from './source';

/**
 * `--http ADDR` for the commands: listens, then logs the one line the contract names. A port that cannot be had is
 * bad usage (exit 2), said in one line naming the flag.
 */
export async function serveHttp(opts: { address: string; token: string | null; source: LiveSource; log: Logger }): Promise<LiveServer> {
  const { host, port } = parseHttpAddress(opts.address);
  let server: LiveServer;
  try {
    server = await startLiveServer({ source: opts.source, host, port, token: opts.token, log: opts.log.child('http') });
  } catch (err) {
    throw new OutputsError('BAD_USAGE', `--http ${opts.address}: ${(err as Error).message}`);
  }
  opts.log.info(`http listening on ${server.url}`);
  return server;
}
