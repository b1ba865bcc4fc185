/** What the live view and `/healthz` show of one server. */
export interface ServerHealth {
  url: string;
  connected: boolean;
  /** ms since the epoch; null before the first event. */
  lastEventAt: number | null;
  openItems: number;
  reconnects: number;
}
