import { CALL_SAVED_WORKFLOW, SAVED_WORKFLOW_INPUT_PREFIX } from './catalog';
import { uuid } from './clock';
import { topoOrder, type EdgeJson, type NodeJson } from './graph';
import { clone, record, type Json, type JsonObject } from './json';
import type { SessionState } from './session';

/** Iterator source id → the prepared iterate copy (and its index) a prepared node belongs to. */
type IterCtx = ReadonlyMap<string, { copy: string; index: number }>;

/** A prepared (execution-graph) node ready to run: inputs resolved from its parents' results. */
export interface PreparedNode {
  readonly id: string;
  readonly sourceId: string;
  /** Node dump as events and `execution_graph` show it (collections blanked for iterate/collect). */
  readonly invocation: NodeJson;
  /** What iterate/collect really work on; the dump shows `[]` (docs/protocol.md §3). */
  readonly collection?: Json[];
  readonly index?: number;
}

/**
 * Materializes the execution graph the way InvokeAI's GraphExecutionState does, one source node at a time
 * in topological order (docs/protocol.md §3): every node becomes a copy with a fresh UUID; nodes downstream of an
 * `iterate` are copied once per item (per combination of open iterators); a `collect` closes the innermost
 * iterators of its inputs and gets one copy per group of the outer ones.
 */
export class Execution {
  readonly order: readonly string[];
  /** Where {@link next} is: the next source node to prepare, and prepared copies not yet handed out. */
  private pos = 0;
  private ready: PreparedNode[] = [];
  private readonly ctxOf = new Map<string, IterCtx>();
  private readonly ancestors = new Map<string, Set<string>>();

  constructor(private readonly s: SessionState) {
    this.order = topoOrder(s.graph) ?? Object.keys(s.graph.nodes);
    for (const id of this.order) {
      const set = new Set<string>();
      for (const e of this.inEdges(id)) {
        set.add(e.source.node_id);
        for (const a of this.ancestors.get(e.source.node_id) ?? []) set.add(a);
      }
      this.ancestors.set(id, set);
    }
  }

  private inEdges(id: string): EdgeJson[] {
    return this.s.graph.edges.filter((e) => e.destination.node_id === id);
  }

  /** The working session (written back to the queue item at run end). */
  get session(): SessionState {
    return this.s;
  }

  private copies(sourceId: string): string[] {
    return this.s.source_prepared_mapping[sourceId] ?? [];
  }

  /**
   * The next node to run, preparing source nodes in topological order as the previous ones complete; undefined at
   * the end. The position survives between calls, so a session suspended on a workflow call resumes where it was.
   */
  next(): PreparedNode | undefined {
    while (this.ready.length === 0) {
      const sourceId = this.order[this.pos];
      if (sourceId === undefined) return undefined;
      this.pos++;
      this.ready = this.prepare(sourceId);
    }
    return this.ready.shift();
  }

  /** Nothing is left to run. */
  get exhausted(): boolean {
    return this.ready.length === 0 && this.pos >= this.order.length;
  }

  /** Creates the prepared copies of one source node; its parents must have completed. */
  prepare(sourceId: string): PreparedNode[] {
    const node = this.s.graph.nodes[sourceId];
    if (!node) return [];
    const edges = this.inEdges(sourceId);
    const parents = [...new Set(edges.map((e) => e.source.node_id))];
    const groups = node.type === 'collect' ? this.collectGroups(parents) : this.contexts(parents);
    const out: PreparedNode[] = [];
    for (const { ctx, picks } of groups) {
      const inv = clone(node);
      const items: Json[] = [];
      let collection: Json[] = Array.isArray(node['collection']) ? clone(node['collection']) : [];
      const execEdges: EdgeJson[] = [];
      for (const e of edges) {
        for (const srcCopy of picks.get(e.source.node_id) ?? []) {
          execEdges.push({ source: { node_id: srcCopy, field: e.source.field }, destination: { node_id: '', field: e.destination.field } });
          const value = clone(this.s.results[srcCopy]?.[e.source.field] ?? null);
          if (node.type === 'collect' && e.destination.field === 'item') items.push(value);
          else if (node.type === 'collect' && e.destination.field === 'collection') collection = collection.concat(Array.isArray(value) ? value : [value]);
          else if (node.type === 'iterate' && e.destination.field === 'collection') collection = Array.isArray(value) ? value : [];
          // Inputs for a called workflow stay on the edges; the call reads them when it starts (_set_node_inputs).
          else if (node.type === CALL_SAVED_WORKFLOW && e.destination.field.startsWith(SAVED_WORKFLOW_INPUT_PREFIX)) continue;
          else inv[e.destination.field] = value;
        }
      }
      if (node.type === 'iterate') {
        collection.forEach((_, index) => {
          const id = uuid();
          const copy = Object.assign(record<Json>(), clone(inv), { id, collection: [], index }) as NodeJson;
          const own = new Map(ctx);
          own.set(sourceId, { copy: id, index });
          out.push(this.register(sourceId, copy, execEdges, own, { collection, index }));
        });
        continue;
      }
      const id = uuid();
      const copy = Object.assign(record<Json>(), inv, { id });
      if (node.type === 'collect') {
        // HEAD runs collectors uncached and shows them emptied (docs/protocol.md §9).
        copy['collection'] = [];
        copy['item'] = null;
        copy['use_cache'] = false;
        out.push(this.register(sourceId, copy, execEdges, ctx, { collection: [...collection, ...items] }));
      } else out.push(this.register(sourceId, copy, execEdges, ctx, {}));
    }
    return out;
  }

  private register(
    sourceId: string,
    invocation: NodeJson,
    edges: EdgeJson[],
    ctx: IterCtx,
    extra: { collection?: Json[]; index?: number },
  ): PreparedNode {
    const s = this.s;
    s.execution_graph.nodes[invocation.id] = invocation;
    for (const e of edges) s.execution_graph.edges.push({ source: e.source, destination: { node_id: invocation.id, field: e.destination.field } });
    s.prepared_source_mapping[invocation.id] = sourceId;
    (s.source_prepared_mapping[sourceId] ??= []).push(invocation.id);
    s.prepared_iteration_paths[invocation.id] = [...ctx.entries()]
      .sort(([a], [b]) => this.order.indexOf(a) - this.order.indexOf(b))
      .map(([, v]) => v.index);
    // Parents have all run before a node is prepared, so nothing is left unmet.
    s.indegree[invocation.id] = 0;
    s.ready_order.push(invocation.id);
    this.ctxOf.set(invocation.id, ctx);
    return { id: invocation.id, sourceId, invocation, ...extra };
  }

  /** Every consistent combination of parent copies: shared iterators must agree. */
  private contexts(parents: string[]): { ctx: IterCtx; picks: Map<string, string[]> }[] {
    let acc: { ctx: Map<string, { copy: string; index: number }>; picks: Map<string, string[]> }[] = [{ ctx: new Map(), picks: new Map() }];
    for (const p of parents) {
      const next: typeof acc = [];
      for (const a of acc)
        for (const c of this.copies(p)) {
          const cctx: IterCtx = this.ctxOf.get(c) ?? new Map<string, { copy: string; index: number }>();
          let ok = true;
          for (const [k, v] of cctx) if (a.ctx.has(k) && a.ctx.get(k)?.copy !== v.copy) ok = false;
          if (!ok) continue;
          const ctx = new Map(a.ctx);
          for (const [k, v] of cctx) ctx.set(k, v);
          const picks = new Map(a.picks);
          picks.set(p, [c]);
          next.push({ ctx, picks });
        }
      acc = next;
    }
    return acc;
  }

  private collectGroups(parents: string[]): { ctx: IterCtx; picks: Map<string, string[]> }[] {
    const iterators = new Set<string>();
    for (const p of parents) for (const c of this.copies(p)) for (const k of (this.ctxOf.get(c) ?? new Map<string, never>()).keys()) iterators.add(k);
    // Innermost iterators (no other open iterator below them) are the ones this collector closes.
    const keep = [...iterators].filter((i) => [...iterators].some((j) => j !== i && this.ancestors.get(j)?.has(i)));
    const groups = new Map<string, { ctx: Map<string, { copy: string; index: number }>; picks: Map<string, string[]> }>();
    for (const p of parents)
      for (const c of this.copies(p)) {
        const cctx: IterCtx = this.ctxOf.get(c) ?? new Map<string, { copy: string; index: number }>();
        const ctx = new Map(keep.filter((k) => cctx.has(k)).map((k) => [k, cctx.get(k) as { copy: string; index: number }]));
        const key = [...ctx.values()].map((v) => v.copy).join('|');
        let g = groups.get(key);
        if (!g) {
          g = { ctx, picks: new Map() };
          groups.set(key, g);
        }
        const list = g.picks.get(p) ?? [];
        list.push(c);
        g.picks.set(p, list);
      }
    if (groups.size === 0) return [{ ctx: new Map(), picks: new Map() }];
    return [...groups.values()];
  }

  /** `session.complete(...)`: result stored; the source counts as executed once all its copies are. */
  complete(node: PreparedNode, output: JsonObject): void {
    const s = this.s;
    s.results[node.id] = output;
    s.executed.push(node.id);
    s.ready_order = s.ready_order.filter((id) => id !== node.id);
    if (this.copies(node.sourceId).every((c) => s.executed.includes(c))) {
      s.executed.push(node.sourceId);
      s.executed_history.push(node.sourceId);
    }
  }

  error(node: PreparedNode, errorType: string, message: string): void {
    this.s.errors[node.id] = `${errorType}: ${message}`;
  }
}
