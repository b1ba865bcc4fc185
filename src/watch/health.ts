/** What the live view, `/healthz` and `/metrics` show of one server. */
export interface ServerHealth {
  /** The server's base URL, as records carry it in `server`. */
  url: string;
  connected: boolean;
  /** When the last socket event arrived, ms since the epoch; null before the first. */
  lastEventAt: number | null;
  /** Queue items heard of and not yet reported. */
  openItems: number;
  /** Connections made after the first one. */
  reconnects: number;
}
