import type { Dispatcher } from 'undici';
import { OutputsError, errorMessage } from './errors';
import { InvokeApi } from './invoke/api';
import { AuthSession } from './invoke/auth';
import { capsFor, type ServerCaps } from './invoke/generation';
import { InvokeHttp } from './invoke/http';
import { serverEndpoints, type ServerEndpoints } from './invoke/url';
import type { Logger } from './log';
import type { ResolverContext } from './pipeline/itemRun';
import type { ImageRecord } from './records';
import { findSessionImagesInListings } from './pipeline/sessionImages';

export interface ServerContextOptions {
  url: string;
  token?: string | null;
  username?: string | null;
  password?: string | null;
  /** Adds `file` to each image record before it is emitted (`--download`). */
  saveImage?: (rec: ImageRecord) => Promise<string>;
  includeIntermediate?: boolean;
  log: Logger;
  dispatcher?: Dispatcher;
}

/** HTTP client, typed API and resolver context for one server: what watch, run and resolve all need. */
export interface ServerContext {
  endpoints: ServerEndpoints;
  http: InvokeHttp;
  api: InvokeApi;
  auth: AuthSession;
  resolver: ResolverContext;
  /**
   * Reads `/app/version` (throwing `NOT_INVOKEAI` when the URL answers but is no InvokeAI API), learns the auth mode
   * (logging in if needed), adapts the resolver to that generation.
   */
  detect(): Promise<ServerCaps>;
  /**
   * `detect()` for one-shot commands: refused credentials and "not an InvokeAI API" say so; any other failure means
   * the server is unreachable (all three exit 3).
   */
  reach(): Promise<ServerCaps>;
}

export function createServerContext(opts: ServerContextOptions): ServerContext {
  const endpoints = serverEndpoints(opts.url);
  const auth = new AuthSession({ token: opts.token ?? null, username: opts.username ?? null, password: opts.password ?? null, log: opts.log.child('auth') });
  const http = new InvokeHttp({
    endpoints,
    ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}),
    auth,
    log: opts.log.child('http'),
  });
  auth.attach(http);
  const api = new InvokeApi(http);
  const resolver: ResolverContext = {
    server: endpoints.server,
    deps: {
      imageDto: (n) => api.imageDto(n),
      queueItem: (q, id) => api.queueItem(q, id),
      session: (id) => api.session(id),
      imageUrl: (n, rel) => api.imageUrl(n, rel),
      findSessionImages: (req) =>
        findSessionImagesInListings({ listImages: (q) => api.listImages(q) }, req, {
          includeIntermediate: opts.includeIntermediate ?? false,
        }),
    },
    includeIntermediate: opts.includeIntermediate ?? false,
    sessionResults: true,
    log: opts.log,
    ...(opts.saveImage ? { saveImage: opts.saveImage } : {}),
  };
  return {
    endpoints,
    http,
    api,
    auth,
    resolver,
    async reach() {
      try {
        return await this.detect();
      } catch (err) {
        if (err instanceof OutputsError && (err.code === 'AUTH_FAILED' || err.code === 'NOT_INVOKEAI')) throw err;
        throw new OutputsError('UNREACHABLE', `cannot reach ${endpoints.server} (${errorMessage(err)})`, { cause: err });
      }
    },
    async detect() {
      // The version first: it needs no credentials, and it tells a wrong URL from a server before anything else.
      const version = await api.appVersion();
      await auth.ensure();
      const caps = capsFor(version);
      resolver.sessionResults = caps.sessionResults;
      resolver.sessionsRoute = caps.sessionsRoute;
      resolver.workflowCalls = caps.workflowCalls;
      return caps;
    },
  };
}
