/** What a fault does to a matching server→client emit. */
export type FaultAction = 'duplicate' | 'drop' | 'delay' | 'reorder';

/** A scripted fault on socket emits. */
export interface FaultRule {
  /** Server→client event name, e.g. `invocation_complete`, `queue_item_status_changed`. */
  event: string;
  /**
   * `duplicate`: delivered twice; `drop`: never delivered; `delay`: delivered after `delayMs`;
   * `reorder`: held and released right after the next emitted event (to any room).
   */
  action: FaultAction;
  /** How many matching emits it applies to. @default unlimited */
  count?: number;
  /** For `delay`. @default 100 */
  delayMs?: number;
  /** Only emits whose payload passes this test match. */
  when?: (payload: Readonly<Record<string, unknown>>) => boolean;
}

/** Makes a node raise instead of running (real failure order, docs/protocol.md §2.1). */
export interface NodeFailure {
  /** Match by invocation type, e.g. `l2i`. */
  nodeType?: string;
  /** Match by the node id of the submitted graph (`invocation_source_id`). */
  sourceId?: string;
  /** Python exception class name reported as `error_type`. @default 'RuntimeError' */
  errorType?: string;
  /** @default 'Simulated failure in node <type>' */
  errorMessage?: string;
  /** How many executions fail. @default unlimited */
  count?: number;
}

/** Scriptable faults of a running simulator. Every `add`/`failNode` returns its remover. */
export interface Faults {
  add(rule: FaultRule): () => void;
  failNode(spec: NodeFailure): () => void;
  /** Removes every rule; held (`reorder`) emits are released at once. */
  clear(): void;
}

interface ActiveRule {
  rule: FaultRule;
  left: number;
}

export class FaultInjector implements Faults {
  private rules: ActiveRule[] = [];
  private failures: { spec: NodeFailure; left: number }[] = [];
  private held: (() => void)[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly log: (msg: string) => void) {}

  add(rule: FaultRule): () => void {
    const active = { rule, left: rule.count ?? Number.POSITIVE_INFINITY };
    this.rules.push(active);
    return () => {
      this.rules = this.rules.filter((r) => r !== active);
    };
  }

  failNode(spec: NodeFailure): () => void {
    const active = { spec, left: spec.count ?? Number.POSITIVE_INFINITY };
    this.failures.push(active);
    return () => {
      this.failures = this.failures.filter((f) => f !== active);
    };
  }

  clear(): void {
    this.rules = [];
    this.failures = [];
    this.flushHeld();
  }

  /** The failure to raise for this node execution, if a `failNode` rule matches (consumes one count). */
  nodeFailure(nodeType: string, sourceId: string): { errorType: string; errorMessage: string } | undefined {
    const f = this.failures.find(
      (x) => x.left > 0 && (x.spec.nodeType === undefined || x.spec.nodeType === nodeType) && (x.spec.sourceId === undefined || x.spec.sourceId === sourceId),
    );
    if (!f) return undefined;
    f.left--;
    return { errorType: f.spec.errorType ?? 'RuntimeError', errorMessage: f.spec.errorMessage ?? `Simulated failure in node ${nodeType}` };
  }

  /** Routes one logical emit (every room it goes to) through the first matching rule. */
  dispatch(event: string, payload: Readonly<Record<string, unknown>>, deliver: () => void): void {
    const active = this.rules.find((r) => r.left > 0 && r.rule.event === event && (r.rule.when === undefined || safeWhen(r.rule.when, payload)));
    if (!active) {
      this.deliverNow(deliver);
      return;
    }
    active.left--;
    this.log(`fault ${active.rule.action} on ${event}`);
    switch (active.rule.action) {
      case 'drop':
        return;
      case 'duplicate':
        this.deliverNow(deliver);
        this.deliverNow(deliver);
        return;
      case 'delay': {
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.deliverNow(deliver);
        }, active.rule.delayMs ?? 100);
        this.timers.add(t);
        return;
      }
      case 'reorder':
        this.held.push(deliver);
        return;
    }
  }

  private deliverNow(deliver: () => void): void {
    deliver();
    this.flushHeld();
  }

  private flushHeld(): void {
    const held = this.held;
    this.held = [];
    for (const d of held) d();
  }

  /** Pending delayed emits are dropped: the server is going away. */
  cancelTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held = [];
  }
}

function safeWhen(when: (p: Readonly<Record<string, unknown>>) => boolean, payload: Readonly<Record<string, unknown>>): boolean {
  try {
    return when(payload);
  } catch {
    return false;
  }
}
