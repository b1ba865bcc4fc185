import { CALL_SAVED_WORKFLOW, getInvocation, outputFieldNames, SAVED_WORKFLOW_INPUT_PREFIX, type InvocationSpec } from './catalog';
import { uuid } from './clock';
import { coerceField, type ValidationIssue } from './fields';
import { clone, isJsonObject, record, type Json, type JsonObject } from './json';

export type { ValidationIssue } from './fields';

export interface EdgeJson extends JsonObject {
  source: { node_id: string; field: string };
  destination: { node_id: string; field: string };
}

export interface GraphJson extends JsonObject {
  id: string;
  nodes: Record<string, NodeJson>;
  edges: EdgeJson[];
}

/** A node as pydantic dumps it: every declared field, nulls included. */
export interface NodeJson extends JsonObject {
  id: string;
  type: string;
}

export interface BatchDatumJson extends JsonObject {
  node_path: string;
  field_name: string;
  items: Json[];
}

export interface BatchJson extends JsonObject {
  batch_id: string;
  origin: string | null;
  destination: string | null;
  data: BatchDatumJson[][] | null;
  graph: GraphJson;
  workflow: Json;
  runs: number;
}

export interface NodeFieldValue extends JsonObject {
  node_path: string;
  field_name: string;
  value: Json;
}

export type EnqueueParse = { ok: true; batch: BatchJson; prepend: boolean } | { ok: false; detail: ValidationIssue[] };

/** Which node types the server generation has (its pydantic union of invocations); others are unknown tags. */
export type KnownType = (type: string) => boolean;
const ALL_TYPES: KnownType = () => true;

const NODE_ATTRIBUTES = new Set(['id', 'type', 'is_intermediate', 'use_cache']);

/** Validates one node like pydantic's tagged union over every invocation class and dumps it fully. */
function parseNode(raw: Json, loc: (string | number)[], issues: ValidationIssue[], known: KnownType): NodeJson | undefined {
  if (!isJsonObject(raw)) {
    issues.push({ type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object to extract fields from', input: raw });
    return undefined;
  }
  const type = raw['type'];
  if (typeof type !== 'string') {
    issues.push({
      type: 'union_tag_not_found',
      loc,
      msg: "Unable to extract tag using discriminator 'type'",
      input: raw,
      ctx: { discriminator: "'type'" },
    });
    return undefined;
  }
  const spec = known(type) ? getInvocation(type) : undefined;
  if (!spec) {
    issues.push({
      type: 'union_tag_invalid',
      loc,
      msg: `Input tag '${type}' found using 'type' does not match any of the expected tags`,
      input: raw,
      ctx: { discriminator: "'type'", tag: type },
    });
    return undefined;
  }
  return dumpNode(raw, spec, [...loc, type], issues);
}

export function dumpNode(raw: JsonObject, spec: InvocationSpec, loc: (string | number)[], issues: ValidationIssue[]): NodeJson | undefined {
  const out = record<Json>();
  let ok = true;
  for (const f of spec.f) {
    if (Object.hasOwn(raw, f.n)) {
      const r = coerceField(f, raw[f.n] ?? null, [...loc, f.n]);
      if ('issue' in r) {
        issues.push(r.issue);
        ok = false;
      } else out[f.n] = clone(r.value);
    } else if (f.d !== undefined) {
      out[f.n] = clone(f.d);
    } else {
      issues.push({ type: 'missing', loc: [...loc, f.n], msg: 'Field required', input: raw });
      ok = false;
    }
  }
  if (spec.x) for (const [k, v] of Object.entries(raw)) if (!Object.hasOwn(out, k)) out[k] = clone(v);
  return ok ? (out as NodeJson) : undefined;
}

function inputFieldNames(type: string): Set<string> {
  const spec = getInvocation(type);
  return new Set((spec?.f ?? []).map((f) => f.n).filter((n) => !NODE_ATTRIBUTES.has(n)));
}

/** Graph.validate_self: ids, edges, cycles, fields (docs/protocol.md §5.1: an invalid graph is a 422). */
function graphProblem(g: GraphJson): string | undefined {
  for (const [k, n] of Object.entries(g.nodes)) if (k !== n.id) return `Node ids must match, got ${k} and ${n.id}`;
  const seen = new Set<string>();
  for (const e of g.edges) {
    const key = `${e.source.node_id}.${e.source.field}-${e.destination.node_id}.${e.destination.field}`;
    if (seen.has(key)) return 'Duplicate edges detected';
    seen.add(key);
  }
  for (const e of g.edges) {
    if (!g.nodes[e.source.node_id]) return `Edge source node ${e.source.node_id} does not exist in the graph`;
    if (!g.nodes[e.destination.node_id]) return `Edge destination node ${e.destination.node_id} does not exist in the graph`;
  }
  if (topoOrder(g) === undefined) return 'Graph contains cycles';
  const inputs = new Map<string, number>();
  for (const e of g.edges) {
    const src = g.nodes[e.source.node_id];
    const dst = g.nodes[e.destination.node_id];
    if (!src || !dst) continue;
    const outs = outputFieldNames(src.type) ?? [];
    if (!outs.includes(e.source.field)) return `Edge source field ${e.source.field} does not exist in node ${e.source.node_id}`;
    // A call node's inputs for the called workflow are dynamic: any `saved_workflow_input::…` name (graph.py@HEAD).
    const dynamic = dst.type === CALL_SAVED_WORKFLOW && e.destination.field.startsWith(SAVED_WORKFLOW_INPUT_PREFIX);
    if (!dynamic && !inputFieldNames(dst.type).has(e.destination.field))
      return `Edge destination field ${e.destination.field} does not exist in node ${e.destination.node_id}`;
    const dkey = `${e.destination.node_id}.${e.destination.field}`;
    inputs.set(dkey, (inputs.get(dkey) ?? 0) + 1);
    const many = dst.type === 'collect' && e.destination.field === 'item';
    if (!many && (inputs.get(dkey) ?? 0) > 1) return `Edge to node ${e.destination.node_id} field ${e.destination.field} already exists`;
  }
  for (const n of Object.values(g.nodes)) {
    if (n.type === 'iterate' && !g.edges.some((e) => e.destination.node_id === n.id && e.destination.field === 'collection'))
      return `Iterator ${n.id} has no collection input`;
  }
  return undefined;
}

/** Deterministic topological order (insertion order breaks ties); undefined when cyclic. */
export function topoOrder(g: { nodes: Record<string, unknown>; edges: readonly EdgeJson[] }): string[] | undefined {
  const ids = Object.keys(g.nodes);
  const indeg = new Map(ids.map((id) => [id, 0]));
  const children = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of g.edges) {
    if (!indeg.has(e.destination.node_id) || !children.has(e.source.node_id)) continue;
    indeg.set(e.destination.node_id, (indeg.get(e.destination.node_id) ?? 0) + 1);
    children.get(e.source.node_id)?.push(e.destination.node_id);
  }
  const order: string[] = [];
  const ready = ids.filter((id) => indeg.get(id) === 0);
  while (ready.length > 0) {
    const id = ready.shift() as string;
    order.push(id);
    for (const c of children.get(id) ?? []) {
      const d = (indeg.get(c) ?? 0) - 1;
      indeg.set(c, d);
      if (d === 0) ready.push(c);
    }
  }
  return order.length === ids.length ? order : undefined;
}

/** `Graph` as pydantic validates it: every node against its invocation model, then `validate_self`. */
export function parseGraph(raw: Json, loc: (string | number)[], issues: ValidationIssue[], known: KnownType = ALL_TYPES): GraphJson | undefined {
  if (!isJsonObject(raw)) {
    issues.push({ type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object to extract fields from', input: raw });
    return undefined;
  }
  const before = issues.length;
  const id = raw['id'] === undefined ? uuid() : raw['id'];
  if (typeof id !== 'string') issues.push({ type: 'string_type', loc: [...loc, 'id'], msg: 'Input should be a valid string', input: id });
  const nodesRaw = raw['nodes'] ?? {};
  const nodes = record<NodeJson>();
  if (!isJsonObject(nodesRaw)) issues.push({ type: 'dict_type', loc: [...loc, 'nodes'], msg: 'Input should be a valid dictionary', input: nodesRaw });
  else
    for (const [k, v] of Object.entries(nodesRaw)) {
      const n = parseNode(v, [...loc, 'nodes', k], issues, known);
      if (n) nodes[k] = n;
    }
  const edgesRaw = raw['edges'] ?? [];
  const edges: EdgeJson[] = [];
  if (!Array.isArray(edgesRaw)) issues.push({ type: 'list_type', loc: [...loc, 'edges'], msg: 'Input should be a valid list', input: edgesRaw });
  else
    edgesRaw.forEach((e, i) => {
      const conn = (side: 'source' | 'destination'): { node_id: string; field: string } | undefined => {
        const c = isJsonObject(e) ? e[side] : undefined;
        const l = [...loc, 'edges', i, side];
        if (!isJsonObject(c)) {
          issues.push(c === undefined ? { type: 'missing', loc: l, msg: 'Field required', input: e ?? null } : { type: 'model_type', loc: l, msg: 'Input should be a valid dictionary or instance of EdgeConnection', input: c });
          return undefined;
        }
        const nodeId = c['node_id'];
        const field = c['field'];
        if (typeof nodeId !== 'string' || typeof field !== 'string') {
          for (const [name, v] of [['node_id', nodeId], ['field', field]] as const)
            if (typeof v !== 'string')
              issues.push(v === undefined ? { type: 'missing', loc: [...l, name], msg: 'Field required', input: c } : { type: 'string_type', loc: [...l, name], msg: 'Input should be a valid string', input: v });
          return undefined;
        }
        return { node_id: nodeId, field };
      };
      const source = conn('source');
      const destination = conn('destination');
      if (source && destination) edges.push({ source, destination });
    });
  if (issues.length > before || typeof id !== 'string') return undefined;
  const g: GraphJson = { id, nodes, edges };
  const problem = graphProblem(g);
  if (problem) {
    issues.push({ type: 'value_error', loc, msg: `Value error, ${problem}`, input: raw, ctx: { error: {} } });
    return undefined;
  }
  return g;
}

function optionalString(raw: JsonObject, key: string, loc: (string | number)[], issues: ValidationIssue[]): string | null {
  const v = raw[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  issues.push({ type: 'string_type', loc: [...loc, key], msg: 'Input should be a valid string', input: v });
  return null;
}

function parseData(raw: Json | undefined, g: GraphJson | undefined, loc: (string | number)[], issues: ValidationIssue[]): BatchDatumJson[][] | null {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw)) {
    issues.push({ type: 'list_type', loc, msg: 'Input should be a valid list', input: raw });
    return null;
  }
  const out: BatchDatumJson[][] = [];
  raw.forEach((group, gi) => {
    if (!Array.isArray(group)) {
      issues.push({ type: 'list_type', loc: [...loc, gi], msg: 'Input should be a valid list', input: group });
      return;
    }
    const parsed: BatchDatumJson[] = [];
    group.forEach((d, di) => {
      const l = [...loc, gi, di];
      if (!isJsonObject(d)) {
        issues.push({ type: 'model_type', loc: l, msg: 'Input should be a valid dictionary or instance of BatchDatum', input: d });
        return;
      }
      const np = d['node_path'];
      const fn = d['field_name'];
      const items = d['items'] ?? [];
      let ok = true;
      for (const [name, v] of [['node_path', np], ['field_name', fn]] as const)
        if (typeof v !== 'string') {
          ok = false;
          issues.push(v === undefined ? { type: 'missing', loc: [...l, name], msg: 'Field required', input: d } : { type: 'string_type', loc: [...l, name], msg: 'Input should be a valid string', input: v });
        }
      if (!Array.isArray(items)) {
        ok = false;
        issues.push({ type: 'list_type', loc: [...l, 'items'], msg: 'Input should be a valid list', input: items });
      }
      if (ok) parsed.push({ node_path: np as string, field_name: fn as string, items: items as Json[] });
    });
    out.push(parsed);
  });
  // Batch's model validators (session_queue_common.py): equal zipped lengths, unique mappings, existing targets.
  const problem = ((): string | undefined => {
    for (const group of out) {
      const lengths = new Set(group.map((d) => d.items.length));
      if (lengths.size > 1) return 'Zipped batch items must all have the same length';
    }
    const pairs = new Set<string>();
    for (const d of out.flat()) {
      const key = `${d.node_path}.${d.field_name}`;
      if (pairs.has(key)) return 'Each batch data must have unique node_id and field_name';
      pairs.add(key);
    }
    if (g)
      for (const d of out.flat()) {
        const node = g.nodes[d.node_path];
        if (!node) return `Node ${d.node_path} not found in graph`;
        if (!inputFieldNames(node.type).has(d.field_name)) return `Field ${d.field_name} not found in node ${d.node_path}`;
      }
    return undefined;
  })();
  if (problem) issues.push({ type: 'value_error', loc: loc.slice(0, -1), msg: `Value error, ${problem}`, input: raw, ctx: { error: {} } });
  return out;
}

/** Body_enqueue_batch as FastAPI + pydantic would parse it. */
export function parseEnqueueBody(body: Json | undefined, known: KnownType = ALL_TYPES): EnqueueParse {
  const issues: ValidationIssue[] = [];
  if (body === undefined) return { ok: false, detail: [{ type: 'missing', loc: ['body'], msg: 'Field required', input: null }] };
  if (!isJsonObject(body))
    return { ok: false, detail: [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }] };
  let prepend = false;
  const p = body['prepend'];
  if (p !== undefined) {
    const r = coerceField({ n: 'prepend', k: 'b' }, p, ['body', 'prepend']);
    if ('issue' in r) issues.push(r.issue);
    else prepend = r.value === true;
  }
  const raw = body['batch'];
  if (raw === undefined) {
    issues.push({ type: 'missing', loc: ['body', 'batch'], msg: 'Field required', input: body });
    return { ok: false, detail: issues };
  }
  if (!isJsonObject(raw)) {
    issues.push({ type: 'model_attributes_type', loc: ['body', 'batch'], msg: 'Input should be a valid dictionary or object to extract fields from', input: raw });
    return { ok: false, detail: issues };
  }
  const loc = ['body', 'batch'];
  const batchId = raw['batch_id'] === undefined ? uuid() : raw['batch_id'];
  if (typeof batchId !== 'string') issues.push({ type: 'string_type', loc: [...loc, 'batch_id'], msg: 'Input should be a valid string', input: batchId });
  const origin = optionalString(raw, 'origin', loc, issues);
  const destination = optionalString(raw, 'destination', loc, issues);
  let graph: GraphJson | undefined;
  if (raw['graph'] === undefined) issues.push({ type: 'missing', loc: [...loc, 'graph'], msg: 'Field required', input: raw });
  else graph = parseGraph(raw['graph'], [...loc, 'graph'], issues, known);
  const data = parseData(raw['data'], graph, [...loc, 'data'], issues);
  let runs = 1;
  if (raw['runs'] !== undefined) {
    const r = coerceField({ n: 'runs', k: 'i' }, raw['runs'], [...loc, 'runs']);
    if ('issue' in r) issues.push(r.issue);
    else if (typeof r.value === 'number' && r.value < 1)
      issues.push({ type: 'greater_than_equal', loc: [...loc, 'runs'], msg: 'Input should be greater than or equal to 1', input: raw['runs'], ctx: { ge: 1 } });
    else runs = r.value as number;
  }
  const workflow = raw['workflow'] ?? null;
  if (workflow !== null && !isJsonObject(workflow))
    issues.push({ type: 'model_type', loc: [...loc, 'workflow'], msg: 'Input should be a valid dictionary or instance of WorkflowWithoutID', input: workflow });
  if (issues.length > 0 || !graph || typeof batchId !== 'string') return { ok: false, detail: issues };
  return {
    ok: true,
    prepend,
    batch: { batch_id: batchId, origin, destination, data, graph, workflow: clone(workflow), runs },
  };
}

/** Batch expansion: `runs` × cartesian product of zipped `data` groups (docs/protocol.md §3, create_session_nfv_tuples). */
export function expandBatch(batch: BatchJson): { graph: GraphJson; fieldValues: NodeFieldValue[] }[] {
  const groups: NodeFieldValue[][][] = (batch.data ?? []).map((group) => {
    const len = group[0]?.items.length ?? 0;
    return Array.from({ length: len }, (_, i) =>
      group.map((d) => ({ node_path: d.node_path, field_name: d.field_name, value: clone(d.items[i] ?? null) })),
    );
  });
  let combos: NodeFieldValue[][] = [[]];
  for (const g of groups) combos = combos.flatMap((c) => g.map((zipped) => [...c, ...zipped]));
  const out: { graph: GraphJson; fieldValues: NodeFieldValue[] }[] = [];
  for (let r = 0; r < batch.runs; r++)
    for (const fieldValues of combos) {
      const graph = clone(batch.graph);
      for (const nfv of fieldValues) {
        const node = graph.nodes[nfv.node_path];
        if (node) node[nfv.field_name] = clone(nfv.value);
      }
      out.push({ graph, fieldValues: clone(fieldValues) });
    }
  return out;
}
