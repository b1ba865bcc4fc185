/*
 * Payloads in the real InvokeAI shapes (docs/protocol.md §2–§5), built from the hand-made HEAD examples in
 * test/fixtures/invokeai/examples: one queue item = the 12-node SDXL canvas workflow of
 * `session_queue_item.completed.json`, whose `canvas_output` (l2i) is the one image output. Everything is
 * derived from (server index, item id), so the synthetic server keeps no per-item state.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Obj = Record<string, unknown>;

const EXAMPLES = join(__dirname, '../../test/fixtures/invokeai/examples');

function example(name: string): Obj {
  return JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as Obj;
}

/** `xxxxxxxx-0000-4000-8000-<item as 12 hex digits>`: unique per (kind, server, item), uuid-shaped. */
function uuidFor(kind: number, server: number, item: number): string {
  const head = `${kind.toString(16).padStart(2, '0')}${server.toString(16).padStart(6, '0')}`;
  return `${head}-0000-4000-8000-${item.toString(16).padStart(12, '0')}`;
}

export const sessionIdOf = (server: number, item: number): string => uuidFor(0x5e, server, item);
export const batchIdOf = (server: number, item: number): string => uuidFor(0xba, server, item);
export const imageNameOf = (server: number, item: number): string => `${uuidFor(0x1a, server, item)}.png`;

/** Server and item of an image name made by {@link imageNameOf}; null for any other name. */
export function parseImageName(name: string): { server: number; item: number } | null {
  const m = /^1a([0-9a-f]{6})-0000-4000-8000-([0-9a-f]{12})\.png$/.exec(name);
  return m ? { server: parseInt(m[1]!, 16), item: parseInt(m[2]!, 16) } : null;
}

export interface NodeStep {
  /** The prepared (execution-graph) node as the event's `invocation`. */
  invocation: Obj;
  sourceId: string;
  /** `invocation_complete.result` (with `output_meta: null`, as events carry it); null for the image node. */
  result: Obj | null;
  image: boolean;
}

/** One event as the server emits it. */
export interface WireEvent {
  name: string;
  payload: Obj;
  /** Set on the events after which the client writes a record: the image's complete, the terminal status. */
  record?: 'image' | 'item';
}

export interface Templates {
  steps: NodeStep[];
  imageNodeId: string;
  imageSourceId: string;
  board: string;
  /** Rendered queue items (`GET /queue/{q}/i/{id}`), by status. */
  queueItem(server: number, item: number, status: 'completed' | 'in_progress'): string;
  imageDto(server: number, item: number): string;
  /** The events of one queue item, in the order a server emits them. */
  events(server: number, item: number, opts?: { progress?: number }): WireEvent[];
  /** Sizes in bytes of the serialized shapes, for the report. */
  sizes: Record<string, number>;
}

/** Splits a JSON text on `"@@KEY@@"` placeholders so that a rendering is a cheap concatenation. */
function compile(json: string): (vals: Record<string, string>) => string {
  const parts = json.split(/"@@(\w+)@@"/);
  return (vals) => {
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) out += vals[parts[i]!]! + parts[i + 1]!;
    return out;
  };
}

export function loadTemplates(): Templates {
  const item = example('session_queue_item.completed.json');
  const l2iEvent = example('invocation_complete.image.l2i.json');
  const statusEvent = example('queue_item_status_changed.completed.json');
  const dto = example('image_dto.json');
  const session = item['session'] as Obj & {
    execution_graph: { nodes: Record<string, Obj> };
    results: Record<string, Obj>;
    prepared_source_mapping: Record<string, string>;
    source_prepared_mapping: Record<string, string[]>;
    executed_history: string[];
  };
  const imageNodeId = (l2iEvent['invocation'] as Obj)['id'] as string;
  const imageSourceId = l2iEvent['invocation_source_id'] as string;
  const board = ((l2iEvent['invocation'] as Obj)['board'] as { board_id: string }).board_id;

  // Execution order: the session's history of source ids, each mapped to its prepared copy.
  const steps: NodeStep[] = session.executed_history.map((sourceId) => {
    const preparedId = session.source_prepared_mapping[sourceId]![0]!;
    const image = preparedId === imageNodeId;
    return {
      invocation: image ? (l2iEvent['invocation'] as Obj) : session.execution_graph.nodes[preparedId]!,
      sourceId,
      result: image ? null : { output_meta: null, ...session.results[preparedId]! },
      image,
    };
  });

  // Queue items: placeholders for what differs per item.
  const render = (status: 'completed' | 'in_progress'): ((v: Record<string, string>) => string) => {
    const copy = JSON.parse(JSON.stringify(item)) as Obj & { session: typeof session };
    copy['item_id'] = '@@ITEM@@';
    copy['status'] = status;
    copy['batch_id'] = '@@BATCH@@';
    copy['session_id'] = '@@SESSION@@';
    copy.session['id'] = '@@SESSION@@';
    if (status === 'completed') {
      (copy.session.results[imageNodeId]!['image'] as Obj)['image_name'] = '@@IMAGE@@';
    } else {
      // While pending/in progress the item holds its enqueue-time session (docs/protocol.md §5.2).
      delete copy['completed_at'];
      copy.session.execution_graph = { nodes: {}, edges: [] } as unknown as typeof session.execution_graph;
      copy.session.results = {};
      copy.session['executed'] = [];
      copy.session.executed_history = [];
      copy.session.prepared_source_mapping = {};
      copy.session.source_prepared_mapping = {};
      copy.session['prepared_iteration_paths'] = {};
      copy.session['indegree'] = {};
    }
    return compile(JSON.stringify(copy));
  };
  const itemDone = render('completed');
  const itemRunning = render('in_progress');
  const dtoRender = compile(
    JSON.stringify({
      ...dto,
      image_name: '@@IMAGE@@',
      image_url: '@@URL@@',
      thumbnail_url: '@@THUMB@@',
      session_id: '@@SESSION@@',
      node_id: imageNodeId,
      board_id: board,
    }),
  );
  const q = (s: string): string => JSON.stringify(s);

  const t: Templates = {
    steps,
    imageNodeId,
    imageSourceId,
    board,
    sizes: {},
    queueItem: (server, itemId, status) =>
      (status === 'completed' ? itemDone : itemRunning)({
        ITEM: String(itemId),
        BATCH: q(batchIdOf(server, itemId)),
        SESSION: q(sessionIdOf(server, itemId)),
        IMAGE: q(imageNameOf(server, itemId)),
      }),
    imageDto: (server, itemId) => {
      const name = imageNameOf(server, itemId);
      return dtoRender({
        IMAGE: q(name),
        URL: q(`api/v1/images/i/${name}/full`),
        THUMB: q(`api/v1/images/i/${name}/thumbnail`),
        SESSION: q(sessionIdOf(server, itemId)),
      });
    },
    events: (server, itemId, opts = {}) => {
      const ts = Math.floor(Date.now() / 1000);
      const common = {
        timestamp: ts,
        queue_id: 'default',
        item_id: itemId,
        batch_id: batchIdOf(server, itemId),
        origin: 'workflows',
        destination: 'gallery',
        user_id: 'system',
        session_id: sessionIdOf(server, itemId),
      };
      const status = (s: 'in_progress' | 'completed', seq: number): Obj => ({
        ...statusEvent,
        ...common,
        status: s,
        status_sequence: seq,
        completed_at: s === 'completed' ? statusEvent['completed_at'] : null,
        batch_status: { ...(statusEvent['batch_status'] as Obj), batch_id: common.batch_id },
      });
      const out: WireEvent[] = [{ name: 'queue_item_status_changed', payload: status('in_progress', 1) }];
      for (const step of steps) {
        const base = { ...common, invocation: step.invocation, invocation_source_id: step.sourceId };
        out.push({ name: 'invocation_started', payload: base });
        if (step.invocation['type'] === 'denoise_latents') {
          const n = opts.progress ?? 0;
          for (let i = 1; i <= n; i++) {
            out.push({
              name: 'invocation_progress',
              payload: { ...base, message: 'Denoising', percentage: i / n, image: PREVIEW, device: null },
            });
          }
        }
        const result = step.image
          ? { ...(l2iEvent['result'] as Obj), image: { image_name: imageNameOf(server, itemId) } }
          : step.result;
        out.push({ name: 'invocation_complete', payload: { ...base, result }, ...(step.image ? { record: 'image' as const } : {}) });
      }
      out.push({ name: 'queue_item_status_changed', payload: status('completed', 2), record: 'item' });
      return out;
    },
  };
  const evs = t.events(0, 1);
  const complete = evs.filter((e) => e.name === 'invocation_complete').map((e) => JSON.stringify(e.payload).length);
  t.sizes = {
    queue_item: t.queueItem(0, 1, 'completed').length,
    image_dto: t.imageDto(0, 1).length,
    events_per_item: evs.length,
    event_bytes_per_item: evs.reduce((a, e) => a + JSON.stringify(e.payload).length, 0),
    complete_min: Math.min(...complete),
    complete_max: Math.max(...complete),
  };
  return t;
}

/**
 * What a denoise step's preview weighs on the wire: a 128×128 WebP data URL of the latents, as InvokeAI sends it
 * with every `invocation_progress` (docs/protocol.md §2.1); about 6 kB.
 */
const PREVIEW = { width: 128, height: 128, dataURL: `data:image/webp;base64,${Buffer.alloc(4500, 7).toString('base64')}` };
