import type { Dispatcher } from 'undici';
import { OutputsError, errorMessage } from '../errors';
import type { Logger } from '../log';
import { InvokeApi } from './api';
import { AuthSession } from './auth';
import { capsFor, type ServerCaps } from './generation';
import { InvokeHttp } from './http';
import { QueueItems } from './queueItems';
import { serverEndpoints, type ServerEndpoints } from './url';

export interface ServerConnectionOptions {
  url: string;
  token?: string | null;
  username?: string | null;
  password?: string | null;
  log: Logger;
  dispatcher?: Dispatcher;
}

/**
 * Everything that talks to one server over HTTP: its endpoints, the client with its credentials, the typed API,
 * and what its generation offers (learned from `/app/version` at each (re)connect).
 */
export class ServerConnection {
  readonly endpoints: ServerEndpoints;
  readonly auth: AuthSession;
  readonly http: InvokeHttp;
  readonly api: InvokeApi;
  readonly items: QueueItems;
  private current: ServerCaps = capsFor(null);

  constructor(opts: ServerConnectionOptions) {
    this.endpoints = serverEndpoints(opts.url);
    this.auth = new AuthSession({ token: opts.token ?? null, username: opts.username ?? null, password: opts.password ?? null, log: opts.log.child('auth') });
    this.http = new InvokeHttp({ endpoints: this.endpoints, ...(opts.dispatcher ? { dispatcher: opts.dispatcher } : {}), auth: this.auth, log: opts.log.child('http') });
    this.auth.attach(this.http);
    this.api = new InvokeApi(this.http);
    this.items = new QueueItems(this.api, () => this.current);
  }

  get server(): string {
    return this.endpoints.server;
  }

  get caps(): ServerCaps {
    return this.current;
  }

  /**
   * Reads `/app/version` (throwing `NOT_INVOKEAI` when the URL answers but is no InvokeAI API), then learns the auth
   * mode (logging in if needed): the server's generation decides what the core uses.
   */
  async detect(): Promise<ServerCaps> {
    // The version first: it needs no credentials, and it tells a wrong URL from a server before anything else.
    const version = await this.api.appVersion();
    await this.auth.ensure();
    this.current = capsFor(version);
    return this.current;
  }

  /**
   * `detect()` for one-shot commands: refused credentials and "not an InvokeAI API" say so; any other failure means
   * the server is unreachable (all three exit 3).
   */
  async reach(): Promise<ServerCaps> {
    try {
      return await this.detect();
    } catch (err) {
      if (err instanceof OutputsError && (err.code === 'AUTH_FAILED' || err.code === 'NOT_INVOKEAI')) throw err;
      throw new OutputsError('UNREACHABLE', `cannot reach ${this.server} (${errorMessage(err)})`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
