import type { Dispatcher } from 'undici';
import { InvokeApi } from './invoke/api';
import { capsFor, type ServerCaps } from './invoke/generation';
import { InvokeHttp } from './invoke/http';
import { serverEndpoints, type ServerEndpoints } from './invoke/url';
import type { Logger } from './log';
import type { ResolverContext } from './pipeline/itemRun';
import { findSessionImagesInListings } from './pipeline/sessionImages';

export interface ServerContextOptions {
  url: string;
  token?: string | null;
  includeIntermediate?: boolean;
  log: Logger;
  dispatcher?: Dispatcher;
}

/** HTTP client, typed API and resolver context for one server: what watch, run and resolve all need. */
export interface ServerContext {
  endpoints: ServerEndpoints;
  http: InvokeHttp;
  api: InvokeApi;
  resolver: ResolverContext;
  /** Reads `/app/version` and adapts the resolver to that server generation. */
  detect(): Promise<ServerCaps>;
}

export function createServerContext(opts: ServerContextOptions): ServerContext {
  const endpoints = serverEndpoints(opts.url);
  const token = opts.token ?? undefined;
  const http = new InvokeHttp({
    endpoints,
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    ...(token ? { auth: { token: () => token } } : {}),
    log: opts.log.child('http'),
  });
  const api = new InvokeApi(http);
  const resolver: ResolverContext = {
    server: endpoints.server,
    deps: {
      imageDto: (n) => api.imageDto(n),
      queueItem: (q, id) => api.queueItem(q, id),
      imageUrl: (n, rel) => api.imageUrl(n, rel),
      findSessionImages: (req) =>
        findSessionImagesInListings({ listImages: (q) => api.listImages(q) }, req, {
          includeIntermediate: opts.includeIntermediate ?? false,
        }),
    },
    includeIntermediate: opts.includeIntermediate ?? false,
    sessionResults: true,
    log: opts.log,
  };
  return {
    endpoints,
    http,
    api,
    resolver,
    async detect() {
      const caps = capsFor(await api.appVersion());
      resolver.sessionResults = caps.sessionResults;
      return caps;
    },
  };
}
