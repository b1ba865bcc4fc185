import { describeType, fieldType, knownNodeType, typeProblem, type FieldType } from './fieldTypes';
import { isConnectionEdge } from './schema';

/*
 * `--set TARGET=VALUE` and `--image TARGET=PATH`: which node field a target names, whether a value fits it, and a
 * copy of the workflow (or graph) with the values in place. TARGET is `NODE_ID.FIELD`; in editor workflows also
 * `LABEL.FIELD` (a node's label) or the label of a field of the workflow's form. Node ids and labels are chosen by
 * users, so they only ever key Maps: a node called `__proto__` is just a node.
 */

/** Bad input named by its flag and target; `message` is the whole line (`--set steps: …`). */
export class InputError extends Error {
  readonly code = 'BAD_INPUT' as const;
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Where an input comes from, for messages: the flag (`--set`, or `set` in the library) and its target. */
export interface InputRef {
  flag: string;
  target: string;
}

/** The node field a target names. */
export interface ResolvedInput {
  nodeId: string;
  field: string;
  nodeType: string;
  /** From the node catalog; undefined for node types it does not know. */
  type: FieldType | undefined;
}

interface NodeView {
  id: string;
  type: string;
  label: string;
  /** Input names the document holds for the node. */
  fields: ReadonlySet<string>;
  /** Field → `node.field` feeding it through an edge. */
  fedBy: ReadonlyMap<string, string>;
}

/** Settable in editor workflows through the node's flags rather than its inputs. */
const NODE_FLAGS: ReadonlyMap<string, 'useCache' | 'isIntermediate'> = new Map([
  ['use_cache', 'useCache'],
  ['is_intermediate', 'isIntermediate'],
]);
const NEVER_SETTABLE: ReadonlySet<string> = new Set(['id', 'type']);

/** The targets of one document: an editor workflow (nodes as an array) or a bare graph (nodes keyed by id). */
export class InputIndex {
  private readonly nodes = new Map<string, NodeView>();
  private readonly byLabel = new Map<string, NodeView[]>();
  /** Labels of the form's fields (`form` node-field elements and the older `exposedFields`) → node and field. */
  private readonly formLabels = new Map<string, { node: NodeView; field: string }[]>();

  private constructor(readonly editor: boolean) {}

  /** Indexes an editor workflow or a graph that has passed conversion or parsing (its shape is not re-checked). */
  static of(doc: unknown): InputIndex {
    const d = asRecord(doc);
    const index = new InputIndex(Array.isArray(d['nodes']));
    if (index.editor) index.indexWorkflow(d);
    else index.indexGraph(d);
    return index;
  }

  /** The node field `ref.target` names; throws `InputError` for an unknown, ambiguous or unsettable target. */
  resolve(ref: InputRef): ResolvedInput {
    const fail = (why: string): never => {
      throw new InputError(`${name(ref)}: ${why}`);
    };
    const dot = ref.target.lastIndexOf('.');
    const prefix = dot > 0 ? ref.target.slice(0, dot) : undefined;
    const field = dot > 0 ? ref.target.slice(dot + 1) : '';
    const byId = prefix === undefined ? undefined : this.nodes.get(prefix);
    if (byId && field) return this.settable(byId, field, fail);

    const labelled = prefix === undefined || !field ? [] : (this.byLabel.get(prefix) ?? []);
    const candidates = new Map<string, { node: NodeView; field: string }>();
    for (const node of labelled) if (this.hasField(node, field)) candidates.set(`${node.id}\n${field}`, { node, field });
    for (const f of this.formLabels.get(ref.target) ?? []) candidates.set(`${f.node.id}\n${f.field}`, f);
    const found = [...candidates.values()];
    if (found.length > 1) {
      const list = found.map((c) => `${c.node.id}.${c.field}`).join(', ');
      return fail(`ambiguous: ${found.length} fields match (${list}); name one as NODE_ID.FIELD`);
    }
    const only = found[0];
    if (only) return this.settable(only.node, only.field, fail);
    const [node] = labelled;
    if (node) return fail(`node ${node.id} (${node.type}, labelled "${node.label}") has no field "${field}"`);
    if (!this.editor) return fail(`no node "${prefix ?? ref.target}" in the graph (a target is NODE_ID.FIELD)`);
    return fail(`no node id, node label or form field label matches (a target is NODE_ID.FIELD, LABEL.FIELD or a form field's label)`);
  }

  /** Throws `InputError` unless `value` fits the field. */
  check(ref: InputRef, r: ResolvedInput, value: unknown): void {
    const problem = this.problem(r, value);
    if (problem) throw new InputError(`${name(ref)}: ${problem} (${r.nodeType}.${r.field}), got ${preview(value)}`);
  }

  /** Throws `InputError` unless the field takes an image (`{"image_name": …}`). */
  checkImageField(ref: InputRef, r: ResolvedInput): void {
    if (r.type === undefined || r.type.kind === 'object' || r.type.kind === 'any') return;
    throw new InputError(`${name(ref)}: ${r.nodeType}.${r.field} does not take an image (it expects ${describeType(r.type)})`);
  }

  private problem(r: ResolvedInput, value: unknown): string | null {
    // The editor stores a board picker's choice, which the conversion translates (see toGraph.ts).
    if (this.editor && r.field === 'board' && (r.type === undefined || r.type.kind === 'object')) {
      const ok = value === 'auto' || value === 'none' || (isRecord(value) && typeof value['board_id'] === 'string' && value['board_id'] !== '');
      return ok ? null : `expected "auto", "none" or {"board_id": "<id>"}`;
    }
    return r.type ? typeProblem(r.type, value) : null;
  }

  private hasField(node: NodeView, field: string): boolean {
    return node.fields.has(field) || fieldType(node.type, field) !== undefined;
  }

  private settable(node: NodeView, field: string, fail: (why: string) => never): ResolvedInput {
    if (NEVER_SETTABLE.has(field)) return fail(`"${field}" of a node cannot be set`);
    // Graph nodes hold only the fields that were set; a type the catalog does not know may have any other.
    const known = this.hasField(node, field) || NODE_FLAGS.has(field) || (!this.editor && !knownNodeType(node.type));
    if (!known) return fail(`node ${node.id} (${node.type}) has no field "${field}"`);
    const feeder = node.fedBy.get(field);
    if (feeder) return fail(`${node.id}.${field} is fed by an edge from ${feeder}; only unconnected fields can be set`);
    return { nodeId: node.id, field, nodeType: node.type, type: fieldType(node.type, field) };
  }

  private add(view: NodeView): void {
    this.nodes.set(view.id, view);
    if (view.label === '') return;
    const same = this.byLabel.get(view.label);
    if (same) same.push(view);
    else this.byLabel.set(view.label, [view]);
  }

  private indexWorkflow(w: Record<string, unknown>): void {
    const fedBy = new Map<string, Map<string, string>>();
    for (const e of asArray(w['edges']).map(asRecord)) {
      if (!isConnectionEdge({ type: typeof e['type'] === 'string' ? e['type'] : undefined })) continue;
      const [target, handle] = [e['target'], e['targetHandle']];
      if (typeof target !== 'string' || typeof handle !== 'string') continue;
      const m = fedBy.get(target) ?? new Map<string, string>();
      m.set(handle, `${String(e['source'])}.${String(e['sourceHandle'])}`);
      fedBy.set(target, m);
    }
    const inputLabels = new Map<string, Map<string, string>>();
    for (const n of asArray(w['nodes']).map(asRecord)) {
      if (n['type'] !== 'invocation' || typeof n['id'] !== 'string') continue;
      const data = asRecord(n['data']);
      const inputs = asRecord(data['inputs']);
      const labels = new Map<string, string>();
      for (const [k, v] of Object.entries(inputs)) {
        const label = asRecord(v)['label'];
        if (typeof label === 'string' && label !== '') labels.set(k, label);
      }
      inputLabels.set(n['id'], labels);
      const label = typeof data['label'] === 'string' ? data['label'] : '';
      this.add({ id: n['id'], type: String(data['type']), label, fields: new Set(Object.keys(inputs)), fedBy: fedBy.get(n['id']) ?? new Map() });
    }
    for (const ref of formFieldRefs(w)) {
      const node = this.nodes.get(ref.nodeId);
      const label = inputLabels.get(ref.nodeId)?.get(ref.fieldName);
      if (!node || label === undefined) continue;
      const list = this.formLabels.get(label) ?? [];
      if (!list.some((x) => x.node === node && x.field === ref.fieldName)) list.push({ node, field: ref.fieldName });
      this.formLabels.set(label, list);
    }
  }

  private indexGraph(g: Record<string, unknown>): void {
    const fedBy = new Map<string, Map<string, string>>();
    for (const e of asArray(g['edges']).map(asRecord)) {
      const [s, d] = [asRecord(e['source']), asRecord(e['destination'])];
      if (typeof d['node_id'] !== 'string' || typeof d['field'] !== 'string') continue;
      const m = fedBy.get(d['node_id']) ?? new Map<string, string>();
      m.set(d['field'], `${String(s['node_id'])}.${String(s['field'])}`);
      fedBy.set(d['node_id'], m);
    }
    for (const [id, raw] of Object.entries(asRecord(g['nodes']))) {
      const n = asRecord(raw);
      this.add({ id, type: String(n['type']), label: '', fields: new Set(Object.keys(n)), fedBy: fedBy.get(id) ?? new Map() });
    }
  }
}

/** A value to put into a resolved field. */
export interface InputValue {
  input: ResolvedInput;
  value: unknown;
}

/**
 * A copy of the document with the values in place: an editor workflow's input `value`s (or its node flags), or a
 * graph node's fields. The argument is not modified.
 */
export function withInputs<T>(doc: T, values: readonly InputValue[]): T {
  const copy = structuredClone(doc);
  const d = asRecord(copy);
  if (Array.isArray(d['nodes'])) {
    const nodes = new Map(d['nodes'].map(asRecord).map((n) => [n['id'], n] as const));
    for (const { input, value } of values) {
      const data = asRecord(nodes.get(input.nodeId)?.['data']);
      const flag = NODE_FLAGS.get(input.field);
      if (flag) setOwn(data, flag, value);
      else {
        const inputs = asRecord(data['inputs']);
        const existing = Object.hasOwn(inputs, input.field) ? inputs[input.field] : undefined;
        if (isRecord(existing)) setOwn(existing, 'value', value);
        else setOwn(inputs, input.field, { name: input.field, label: '', value });
      }
    }
  } else {
    const nodes = asRecord(d['nodes']);
    for (const { input, value } of values) {
      const node = Object.hasOwn(nodes, input.nodeId) ? nodes[input.nodeId] : undefined;
      if (isRecord(node)) setOwn(node, input.field, value);
    }
  }
  return copy;
}

/** Field references of the form: `node-field` elements of `form` and the entries of the older `exposedFields`. */
function formFieldRefs(w: Record<string, unknown>): { nodeId: string; fieldName: string }[] {
  const refs: { nodeId: string; fieldName: string }[] = [];
  const push = (x: unknown): void => {
    const r = asRecord(x);
    if (typeof r['nodeId'] === 'string' && typeof r['fieldName'] === 'string') refs.push({ nodeId: r['nodeId'], fieldName: r['fieldName'] });
  };
  for (const el of Object.values(asRecord(asRecord(w['form'])['elements']))) {
    const e = asRecord(el);
    if (e['type'] === 'node-field') push(asRecord(e['data'])['fieldIdentifier']);
  }
  for (const x of asArray(w['exposedFields'])) push(x);
  return refs;
}

/** Plain assignment would call the `__proto__` setter; keys here may come from a user's document. */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

function name(ref: InputRef): string {
  return `${ref.flag} ${/^[\w.:-]+$/.test(ref.target) ? ref.target : JSON.stringify(ref.target)}`;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asRecord(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
