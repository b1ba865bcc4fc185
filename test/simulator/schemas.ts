/**
 * Validation against the real server's OpenAPI document (data/openapi-head.json), compiled once per schema.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { readFixture, type Client } from './support';

type Doc = { components: { schemas: Record<string, Record<string, unknown>> } };

let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

function instance(): Ajv2020 {
  if (ajv) return ajv;
  const doc = readFixture<Doc>('openapi-head.json');
  // Routes with `response_model_exclude_none` (GET queue item) drop `output_meta: null` from stored results,
  // yet every output schema lists it as required: the real server's own responses fail that line, so the
  // "stored" copy of the document does not require it. Events are checked against the document as is.
  const stored = structuredClone(doc);
  for (const s of Object.values(stored.components.schemas))
    if (s['class'] === 'output' && Array.isArray(s['required'])) s['required'] = (s['required'] as string[]).filter((r) => r !== 'output_meta');
  const a = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats(a);
  a.addSchema(doc, 'openapi');
  a.addSchema(stored, 'openapi-stored');
  ajv = a;
  return a;
}

/** Schema names of socket events (models in events_common.py). */
export const EVENT_SCHEMAS: Record<string, string> = {
  invocation_started: 'InvocationStartedEvent',
  invocation_progress: 'InvocationProgressEvent',
  invocation_complete: 'InvocationCompleteEvent',
  invocation_error: 'InvocationErrorEvent',
  queue_item_status_changed: 'QueueItemStatusChangedEvent',
  batch_enqueued: 'BatchEnqueuedEvent',
  queue_items_retried: 'QueueItemsRetriedEvent',
  queue_items_canceled: 'QueueItemsCanceledEvent',
  queue_cleared: 'QueueClearedEvent',
};

/** Returns a readable error list, or [] when `value` is valid. */
export function check(schema: string, value: unknown, variant: 'openapi' | 'openapi-stored' = 'openapi'): string[] {
  const key = `${variant}#/components/schemas/${schema}`;
  let v = compiled.get(key);
  if (!v) {
    const fn = instance().getSchema(key);
    if (!fn) throw new Error(`no schema ${key}`);
    v = fn;
    compiled.set(key, v);
  }
  if (v(value)) return [];
  return (v.errors ?? []).slice(0, 5).map((e) => `${schema}${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** Validates a list of items against `schema` (response arrays). */
export function checkEach(schema: string, values: unknown[], variant: 'openapi' | 'openapi-stored' = 'openapi'): string[] {
  return values.flatMap((v) => check(schema, v, variant));
}

let byType: { invocations: Map<string, string>; outputs: Map<string, string> } | undefined;

/** Component schema names by `type` const, to pinpoint which node or output fails. */
export function schemaForType(kind: 'invocations' | 'outputs', type: string): string | undefined {
  if (!byType) {
    const doc = readFixture<Doc>('openapi-head.json');
    byType = { invocations: new Map(), outputs: new Map() };
    for (const [name, s] of Object.entries(doc.components.schemas)) {
      const props = s['properties'] as Record<string, { const?: unknown }> | undefined;
      const t = props?.['type']?.const;
      if (typeof t !== 'string') continue;
      if (s['class'] === 'invocation') byType.invocations.set(t, name);
      if (s['class'] === 'output') byType.outputs.set(t, name);
    }
  }
  return byType[kind].get(type);
}

/** Every payload a client got, checked against the event model of its name and its node's invocation/output schema. */
export function checkEvents(c: Client): string[] {
  const problems: string[] = [];
  for (const e of c.events) {
    const schema = EVENT_SCHEMAS[e.event];
    if (!schema) {
      problems.push(`unexpected event ${e.event}`);
      continue;
    }
    problems.push(...check(schema, e.payload));
    const inv = e.payload['invocation'] as { type: string } | undefined;
    if (inv) {
      const s = schemaForType('invocations', inv.type);
      problems.push(...(s ? check(s, inv).map((p) => `${e.event}: ${p}`) : [`no schema for ${inv.type}`]));
    }
    const result = e.payload['result'] as { type: string } | undefined;
    if (result) {
      const s = schemaForType('outputs', result.type);
      problems.push(...(s ? check(s, result).map((p) => `${e.event}: ${p}`) : [`no schema for ${result.type}`]));
    }
  }
  return problems;
}
