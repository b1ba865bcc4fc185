import { sqliteTime, uuid } from './clock';
import type { ValidationIssue } from './fields';
import { clone, isJsonObject, type Json, type JsonObject } from './json';
import { compatibility } from './workflowGraph';

/** A saved workflow as the `workflow_library` table keeps it (workflow_records_sqlite.py@HEAD). */
export interface WorkflowRecord {
  readonly workflow_id: string;
  /** The `Workflow` model dump: `WorkflowWithoutID` fields plus `id`. */
  readonly workflow: JsonObject;
  readonly user_id: string;
  readonly is_public: boolean;
  readonly createdMs: number;
}

/** `WorkflowRecordDTO` (`POST /workflows/`); `workflow` is the saved editor workflow with its `id`. */
export interface WorkflowRecordDTO extends WorkflowRecordFields {
  workflow: JsonObject;
}

/** What a saved workflow's record and its list entry share. */
interface WorkflowRecordFields {
  workflow_id: string;
  name: string;
  created_at: string;
  updated_at: string;
  opened_at: string | null;
  user_id: string;
  is_public: boolean;
}

/** `WorkflowRecordListItemWithThumbnailDTO`: a page entry of `GET /workflows/` (no thumbnails here). */
export interface WorkflowListItemDTO extends WorkflowRecordFields {
  description: string;
  category: string;
  tags: string;
  thumbnail_url: null;
  call_saved_workflow_compatibility: JsonObject;
}

/** `PaginatedResults[…]`. */
export interface WorkflowPage {
  page: number;
  pages: number;
  per_page: number;
  total: number;
  items: WorkflowListItemDTO[];
}

export const WORKFLOW_ORDER_BY = ['created_at', 'updated_at', 'opened_at', 'name', 'is_public'] as const;
export type WorkflowOrderBy = (typeof WORKFLOW_ORDER_BY)[number];

/** The filters of `list_workflows` (`routers/workflows.py@HEAD`); `userId` scopes user workflows to their owner. */
export interface WorkflowListQuery {
  page: number;
  perPage: number | null;
  orderBy: WorkflowOrderBy;
  direction: 'ASC' | 'DESC';
  categories?: readonly string[];
  tags?: readonly string[];
  query?: string;
  hasBeenOpened?: boolean;
  isPublic?: boolean;
  callable?: boolean;
  userId?: string;
}

/** The workflow library (6.14+, docs/protocol.md §8.8): create, read, and list it a page at a time. */
export class WorkflowLibrary {
  private readonly records = new Map<string, WorkflowRecord>();

  /**
   * `create_workflow`: validates a `WorkflowWithoutID` (`loc` prefixes the 422 issues), gives it a fresh id.
   * In single-user mode workflows are public; in multi-user mode private to their creator.
   */
  create(raw: Json | undefined, userId: string, isPublic: boolean, loc: (string | number)[] = ['body', 'workflow']): { record?: WorkflowRecord; issues: ValidationIssue[] } {
    const issues: ValidationIssue[] = [];
    const fields = parseWorkflowWithoutId(raw, loc, issues);
    if (!fields) return { issues };
    const id = uuid();
    const record: WorkflowRecord = { workflow_id: id, workflow: { ...fields, id }, user_id: userId, is_public: isPublic, createdMs: Date.now() };
    this.records.set(id, record);
    return { record, issues };
  }

  get(workflowId: string): WorkflowRecord | undefined {
    return this.records.get(workflowId);
  }

  /**
   * `get_many` (workflow_records_sqlite.py@HEAD): filters, then `ORDER BY <column> <direction>` (rows that tie keep
   * their insertion order, as SQLite's scan does), then `LIMIT per_page OFFSET page * per_page` when `per_page` is
   * set (0 or absent means everything on one page).
   */
  list(q: WorkflowListQuery): WorkflowPage {
    const text = q.query?.trim().toLowerCase();
    const matches = (r: WorkflowRecord): boolean => {
      const f = fieldsOf(r);
      if (q.categories && q.categories.length > 0 && !q.categories.includes(f.category)) return false;
      // SQL LIKE '%tag%': a substring of the tags text, ignoring ASCII case.
      if (q.tags?.some((t) => !f.tags.toLowerCase().includes(t.trim().toLowerCase()))) return false;
      if (q.hasBeenOpened === true) return false; // nothing here opens workflows: opened_at stays null
      if (text && ![f.name, f.description, f.tags].some((v) => v.toLowerCase().includes(text))) return false;
      if (q.userId !== undefined && r.user_id !== q.userId && f.category !== 'default') return false;
      if (q.isPublic !== undefined && r.is_public !== q.isPublic) return false;
      if (q.callable !== undefined && (compatibility(r.workflow)['is_callable'] === true) !== q.callable) return false;
      return true;
    };
    const key = (r: WorkflowRecord): string | number => {
      switch (q.orderBy) {
        case 'name':
          return fieldsOf(r).name;
        case 'is_public':
          return r.is_public ? 1 : 0;
        case 'opened_at':
          return 0;
        default:
          return r.createdMs;
      }
    };
    const sign = q.direction === 'DESC' ? -1 : 1;
    const found = [...this.records.values()].filter(matches);
    // Array.prototype.sort is stable: ties stay in insertion order.
    found.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return ka < kb ? -sign : ka > kb ? sign : 0;
    });
    const total = found.length;
    const perPage = q.perPage ?? 0;
    const items = perPage > 0 ? found.slice(Math.max(0, q.page * perPage), Math.max(0, (q.page + 1) * perPage)) : found;
    return {
      page: q.page,
      pages: perPage > 0 ? Math.ceil(total / perPage) : 1,
      per_page: perPage > 0 ? perPage : total,
      total,
      items: items.map((r) => WorkflowLibrary.toListItemDTO(r)),
    };
  }

  static toListItemDTO(r: WorkflowRecord): WorkflowListItemDTO {
    const t = sqliteTime(r.createdMs);
    const f = fieldsOf(r);
    return {
      workflow_id: r.workflow_id,
      name: f.name,
      created_at: t,
      updated_at: t,
      opened_at: null,
      user_id: r.user_id,
      is_public: r.is_public,
      description: f.description,
      category: f.category,
      tags: f.tags,
      thumbnail_url: null,
      call_saved_workflow_compatibility: compatibility(r.workflow),
    };
  }

  /** `WorkflowRecordDTO`: nulls present (the route does not exclude them). */
  static toDTO(r: WorkflowRecord): WorkflowRecordDTO {
    const t = sqliteTime(r.createdMs);
    return {
      workflow_id: r.workflow_id,
      name: typeof r.workflow['name'] === 'string' ? r.workflow['name'] : '',
      created_at: t,
      updated_at: t,
      opened_at: null,
      user_id: r.user_id,
      is_public: r.is_public,
      workflow: clone(r.workflow),
    };
  }

  /** `WorkflowRecordWithThumbnailDTO` of `GET /workflows/i/{id}`: no thumbnails here; callability as HEAD judges it. */
  static toDetailDTO(r: WorkflowRecord): WorkflowRecordDTO & { thumbnail_url: null; call_saved_workflow_compatibility: JsonObject } {
    return { ...WorkflowLibrary.toDTO(r), thumbnail_url: null, call_saved_workflow_compatibility: compatibility(r.workflow) };
  }
}

/** The columns SQLite generates from the workflow JSON (`name`, `description`, `tags`, `category`). */
function fieldsOf(r: WorkflowRecord): { name: string; description: string; tags: string; category: string } {
  const w = r.workflow;
  const str = (v: Json | undefined): string => (typeof v === 'string' ? v : '');
  const meta = w['meta'];
  return { name: str(w['name']), description: str(w['description']), tags: str(w['tags']), category: isJsonObject(meta) ? str(meta['category']) : '' };
}

const STRING_FIELDS = ['name', 'author', 'description', 'version', 'contact', 'tags', 'notes'] as const;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

type Loc = (string | number)[];

/** `WorkflowWithoutID` (workflow_records_common.py@HEAD): extra keys are ignored, i.e. dropped. */
function parseWorkflowWithoutId(raw: Json | undefined, loc: Loc, issues: ValidationIssue[]): JsonObject | undefined {
  if (raw === undefined) {
    issues.push({ type: 'missing', loc, msg: 'Field required', input: null });
    return undefined;
  }
  if (!isJsonObject(raw)) {
    issues.push({ type: 'model_attributes_type', loc, msg: 'Input should be a valid dictionary or object to extract fields from', input: raw });
    return undefined;
  }
  const before = issues.length;
  const out: JsonObject = {};
  // The order of these checks is the order of the 422's issues.
  for (const k of STRING_FIELDS) {
    const v = raw[k];
    if (v === undefined) missing(raw, loc, k, issues);
    else if (typeof v !== 'string') issues.push({ type: 'string_type', loc: [...loc, k], msg: 'Input should be a valid string', input: v });
    else out[k] = v;
  }
  parseExposedFields(raw, loc, issues, out);
  parseMeta(raw, loc, issues, out);
  parseNodesAndEdges(raw, loc, issues, out);
  const form = raw['form'] ?? null;
  if (form !== null && !isJsonObject(form)) issues.push({ type: 'dict_type', loc: [...loc, 'form'], msg: 'Input should be a valid dictionary', input: form });
  out['form'] = clone(form);
  return issues.length > before ? undefined : out;
}

function missing(raw: JsonObject, loc: Loc, k: string, issues: ValidationIssue[]): void {
  issues.push({ type: 'missing', loc: [...loc, k], msg: 'Field required', input: raw });
}

function parseExposedFields(raw: JsonObject, loc: Loc, issues: ValidationIssue[], out: JsonObject): void {
  const exposed = raw['exposedFields'];
  if (exposed === undefined) missing(raw, loc, 'exposedFields', issues);
  else if (!Array.isArray(exposed)) issues.push({ type: 'list_type', loc: [...loc, 'exposedFields'], msg: 'Input should be a valid list', input: exposed });
  else
    out['exposedFields'] = exposed.flatMap((f, i): JsonObject[] => {
      const nodeId = isJsonObject(f) ? f['nodeId'] : undefined;
      const fieldName = isJsonObject(f) ? f['fieldName'] : undefined;
      if (typeof nodeId === 'string' && typeof fieldName === 'string') return [{ nodeId, fieldName }];
      issues.push({ type: 'model_type', loc: [...loc, 'exposedFields', i], msg: 'Input should be a valid dictionary or instance of ExposedField', input: f });
      return [];
    });
}

function parseMeta(raw: JsonObject, loc: Loc, issues: ValidationIssue[], out: JsonObject): void {
  const meta = raw['meta'];
  if (meta === undefined) return missing(raw, loc, 'meta', issues);
  if (!isJsonObject(meta)) {
    issues.push({ type: 'model_type', loc: [...loc, 'meta'], msg: 'Input should be a valid dictionary or instance of WorkflowMeta', input: meta });
    return;
  }
  const version = meta['version'];
  const category = meta['category'];
  if (typeof version !== 'string') issues.push({ type: 'string_type', loc: [...loc, 'meta', 'version'], msg: 'Input should be a valid string', input: version ?? null });
  else if (!SEMVER.test(version))
    issues.push({ type: 'value_error', loc: [...loc, 'meta', 'version'], msg: `Value error, Invalid workflow meta version: ${version}`, input: version, ctx: { error: {} } });
  if (category !== 'user' && category !== 'default')
    issues.push({ type: 'enum', loc: [...loc, 'meta', 'category'], msg: "Input should be 'user' or 'default'", input: category ?? null, ctx: { expected: "'user' or 'default'" } });
  out['meta'] = { version: version ?? null, category: category ?? null };
}

function parseNodesAndEdges(raw: JsonObject, loc: Loc, issues: ValidationIssue[], out: JsonObject): void {
  for (const k of ['nodes', 'edges'] as const) {
    const v = raw[k];
    if (v === undefined) missing(raw, loc, k, issues);
    else if (!Array.isArray(v)) issues.push({ type: 'list_type', loc: [...loc, k], msg: 'Input should be a valid list', input: v });
    else {
      v.forEach((x, i) => {
        if (!isJsonObject(x)) issues.push({ type: 'dict_type', loc: [...loc, k, i], msg: 'Input should be a valid dictionary', input: x });
      });
      out[k] = clone(v);
    }
  }
  const nodes = raw['nodes'];
  if (Array.isArray(nodes)) {
    const returns = nodes.filter((n) => isJsonObject(n) && n['type'] === 'invocation' && isJsonObject(n['data']) && n['data']['type'] === 'workflow_return');
    if (returns.length > 1)
      issues.push({ type: 'value_error', loc: [...loc, 'nodes'], msg: 'Value error, A workflow may not contain more than one workflow_return node.', input: nodes, ctx: { error: {} } });
  }
}
