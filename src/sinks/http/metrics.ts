import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutputRecord } from '../../records';
import type { LiveSource, ServerHealth, SinkHealth } from './source';

const P = 'invokeai_outputs_';

/**
 * `GET /metrics`: record counters fed by the record stream, server and sink state read from the source at each
 * scrape. A Registry of its own (not prom-client's global one), so two servers in one process never share counts.
 */
export class LiveMetrics {
  readonly registry = new Registry();
  private readonly records: Counter<'type'>;
  private readonly items: Counter<'status' | 'complete'>;
  private readonly images: Counter<'via'>;

  constructor(source: LiveSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.records = new Counter({ name: `${P}records_total`, help: 'Records printed, by type', labelNames: ['type'], registers });
    this.items = new Counter({ name: `${P}items_total`, help: 'Item records, by status and completeness', labelNames: ['status', 'complete'], registers });
    this.images = new Counter({ name: `${P}images_total`, help: 'Image records, by where the fact came from', labelNames: ['via'], registers });
    // Zero series from the start: a rate() or an alert over them works before the first record.
    for (const type of ['image', 'item']) this.records.inc({ type }, 0);
    for (const status of ['completed', 'failed', 'canceled']) for (const complete of ['true', 'false']) this.items.inc({ status, complete }, 0);
    for (const via of ['socket', 'queue_item', 'board_diff']) this.images.inc({ via }, 0);

    const perServer = (kind: 'gauge' | 'counter', name: string, help: string, value: (h: ServerHealth, now: number) => number | null): void => {
      const Metric = kind === 'gauge' ? Gauge : Counter;
      new Metric({
        name: `${P}${name}`,
        help,
        labelNames: ['server'],
        registers,
        collect(this: Gauge<'server'> | Counter<'server'>) {
          this.reset();
          const now = Date.now();
          for (const h of source.health()) {
            const v = value(h, now);
            if (v === null) continue;
            if (this instanceof Gauge) this.set({ server: h.url }, v);
            else this.inc({ server: h.url }, v);
          }
        },
      });
    };
    perServer('gauge', 'connected', '1 while connected and subscribed to the server', (h) => (h.connected ? 1 : 0));
    perServer('counter', 'reconnects_total', 'Connections to the server after the first', (h) => h.reconnects);
    perServer('gauge', 'open_items', 'Queue items heard of and not yet reported', (h) => h.openItems);
    perServer('gauge', 'last_event_age_seconds', 'Seconds since the last socket event from the server (absent before the first)', (h, now) =>
      h.lastEventAt === null ? null : Math.max(0, (now - h.lastEventAt) / 1000),
    );
    this.sinkMetrics(source);
  }

  private sinkMetrics(source: LiveSource): void {
    const sinks = source.sinks?.bind(source);
    if (!sinks) return;
    const registers = [this.registry];
    const each = (kind: 'gauge' | 'counter', name: string, help: string, value: (s: SinkHealth) => number): void => {
      const Metric = kind === 'gauge' ? Gauge : Counter;
      new Metric({
        name: `${P}${name}`,
        help,
        labelNames: ['sink'],
        registers,
        collect(this: Gauge<'sink'> | Counter<'sink'>) {
          this.reset();
          for (const s of sinks()) {
            if (this instanceof Gauge) this.set({ sink: s.name }, value(s));
            else this.inc({ sink: s.name }, value(s));
          }
        },
      });
    };
    each('counter', 'sink_delivered_total', 'Records the sink acknowledged', (s) => s.delivered);
    each('gauge', 'sink_pending', 'Records waiting for the sink', (s) => s.pending);
    each('counter', 'sink_failed_total', 'Records the sink refused for good', (s) => s.failed);
  }

  observe(rec: OutputRecord): void {
    this.records.inc({ type: rec.type });
    if (rec.type === 'item') this.items.inc({ status: rec.status, complete: String(rec.complete) });
    else this.images.inc({ via: rec.via });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
