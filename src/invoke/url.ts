import { OutputsError } from '../errors';

/** Where a server's HTTP API and socket live, derived from the base URL's path prefix (docs/protocol.md §1.2). */
export interface ServerEndpoints {
  /** The base URL as the user gave it, normalised without a trailing slash; records carry it as `server`. */
  server: string;
  /** `<origin><prefix>/api/v1` */
  api: string;
  /** `<origin><prefix>/` — relative `image_url`s resolve against it. */
  root: string;
  origin: string;
  /** socket.io `path` option: `<prefix>/ws/socket.io` */
  socketPath: string;
}

export function serverEndpoints(baseUrl: string): ServerEndpoints {
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    throw new OutputsError('BAD_CONFIG', `url: not a valid URL: ${baseUrl}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new OutputsError('BAD_CONFIG', `url: must be http or https: ${baseUrl}`);
  }
  const prefix = u.pathname.replace(/\/+$/, '');
  const origin = u.origin;
  return {
    server: `${origin}${prefix}`,
    api: `${origin}${prefix}/api/v1`,
    root: `${origin}${prefix}/`,
    origin,
    socketPath: `${prefix}/ws/socket.io`,
  };
}
