import type { LiveSource } from './source';

export interface HealthReport {
  status: 'ok' | 'degraded';
  servers: { url: string; connected: boolean; last_event_age_s: number | null; open_items: number }[];
}

/** `GET /healthz`: 200 when every watched server is connected, 503 otherwise (a load balancer reads the code). */
export function healthOf(source: LiveSource, now = Date.now()): { code: 200 | 503; report: HealthReport } {
  const servers = source.health().map((h) => ({
    url: h.url,
    connected: h.connected,
    last_event_age_s: h.lastEventAt === null ? null : Math.max(0, Math.round((now - h.lastEventAt) / 100) / 10),
    open_items: h.openItems,
  }));
  const ok = servers.length > 0 && servers.every((s) => s.connected);
  return { code: ok ? 200 : 503, report: { status: ok ? 'ok' : 'degraded', servers } };
}
