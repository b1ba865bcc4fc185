import { OutputsError, errorMessage } from '../errors';
import type { InvokeApi } from '../invoke/api';
import { HttpError } from '../invoke/http';
import { noopLogger, type Logger } from '../log';
import { InputError, InputIndex, withInputs, type InputRef, type InputValue } from '../workflow/inputs';
import { readLocalImage, type LocalImage } from './imageFile';
import { buildEnqueueBody, type BuildOptions, type EnqueueBody, type WorkInput } from './input';
import type { RunInputOptions } from './options';

export type { RunInputOptions } from './options';

/** Input checked as far as it can be without the server; `enqueueBody` finishes it once the server is reached. */
export interface PreparedInput {
  /** Fetches a library workflow, uploads the images, sets the inputs, and builds the `enqueue_batch` body. */
  enqueueBody(api: InvokeApi, log?: Logger): Promise<EnqueueBody>;
}

const KINDS = ['graph', 'batch', 'workflow', 'workflowId'] as const;
/** Stands in for upload names while targets are checked before anything is uploaded. */
const PENDING_UPLOAD = 'pending-upload.png';

/**
 * Checks what needs no server: exactly one input, the input itself, every `set` target and value, every image file;
 * for a library workflow its targets are checked once it is fetched, before any upload. Throws `OutputsError`
 * (`BAD_USAGE`, `BAD_INPUT`) with a one-line message.
 */
export function prepareInput(opts: RunInputOptions): PreparedInput {
  const given = KINDS.filter((k) => opts[k] !== undefined);
  if (given.length !== 1) throw new OutputsError('BAD_USAGE', 'give exactly one of graph, batch, workflow or workflowId');
  const kind = given[0]!;
  if (kind === 'workflowId' && (typeof opts.workflowId !== 'string' || opts.workflowId === '')) throw new OutputsError('BAD_USAGE', 'workflowId: must be a non-empty string');
  const setFlag = opts.inputNames?.set ?? 'set';
  const imageFlag = opts.inputNames?.images ?? 'images';
  const sets = Object.entries(opts.set ?? {}).map(([target, value]) => ({ ref: { flag: setFlag, target }, value }));
  const images = Object.entries(opts.images ?? {}).map(([target, path]) => {
    const ref = { flag: imageFlag, target };
    return { ref, file: readLocalImage(path, `${imageFlag} ${target}`) };
  });
  const source = opts.source ?? (kind === 'workflowId' ? `workflow ${opts.workflowId ?? ''}` : kind);
  const build: BuildOptions = { board: opts.board, runs: opts.runs, origin: 'invokeai-outputs' };
  const plan = new InputPlan(sets, images, build, source);
  if (kind !== 'workflowId') plan.body({ [kind]: opts[kind] } as WorkInput, new Map());

  return {
    async enqueueBody(api, log = noopLogger) {
      const input: WorkInput = kind === 'workflowId' ? { workflow: await fetchWorkflow(api, opts.workflowId ?? '', source) } : ({ [kind]: opts[kind] } as WorkInput);
      if (kind === 'workflowId') plan.body(input, new Map());
      return plan.body(input, await upload(api, images, log));
    },
  };
}

/** `prepareInput(opts).enqueueBody(api)`: the `enqueue_batch` body of `opts`, for a server already reached. */
export function prepareEnqueueBody(api: InvokeApi, opts: RunInputOptions, log?: Logger): Promise<EnqueueBody> {
  return prepareInput(opts).enqueueBody(api, log);
}

/** One `run`'s sets and images, applied to an input. */
class InputPlan {
  constructor(
    private readonly sets: readonly { ref: InputRef; value: unknown }[],
    private readonly images: readonly { ref: InputRef; file: LocalImage }[],
    private readonly build: BuildOptions,
    private readonly source: string,
  ) {}

  /** The enqueue body with every input set; `uploaded` maps image paths to upload names (placeholders if absent). */
  body(input: WorkInput, uploaded: ReadonlyMap<string, string>): EnqueueBody {
    // The document's own problems come first: a target is only looked for in a document that converts.
    const plain = buildEnqueueBody(input, this.build, this.source);
    if (this.sets.length === 0 && this.images.length === 0) return plain;
    try {
      if ('workflow' in input) return buildEnqueueBody({ workflow: withInputs(input.workflow, this.values(input.workflow, uploaded)) }, this.build, this.source);
      plain.batch.graph = withInputs(plain.batch.graph, this.values(plain.batch.graph, uploaded));
      return plain;
    } catch (err) {
      if (err instanceof InputError) throw new OutputsError('BAD_INPUT', err.message);
      throw err;
    }
  }

  private values(doc: unknown, uploaded: ReadonlyMap<string, string>): InputValue[] {
    const index = InputIndex.of(doc);
    const values: InputValue[] = [];
    for (const { ref, value } of this.sets) {
      const input = index.resolve(ref);
      index.check(ref, input, value);
      values.push({ input, value });
    }
    for (const { ref, file } of this.images) {
      const input = index.resolve(ref);
      index.checkImageField(ref, input);
      values.push({ input, value: { image_name: uploaded.get(file.path) ?? PENDING_UPLOAD } });
    }
    return values;
  }
}

async function fetchWorkflow(api: InvokeApi, workflowId: string, source: string): Promise<unknown> {
  try {
    const record = await api.workflow(workflowId);
    if (!record) throw new OutputsError('BAD_INPUT', `${source}: the server's workflow library has no workflow with this id`);
    return record.workflow;
  } catch (err) {
    if (err instanceof HttpError && err.status === 403) throw new OutputsError('BAD_INPUT', `${source}: not allowed to read this workflow (HTTP 403)`, { cause: err });
    throw err;
  }
}

/** Uploads each distinct file once; path → image name. */
async function upload(api: InvokeApi, images: readonly { ref: InputRef; file: LocalImage }[], log: Logger): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const { ref, file } of images) {
    if (names.has(file.path)) continue;
    try {
      const dto = await api.uploadImage({ bytes: file.bytes, filename: file.filename, mime: file.mime }, { category: 'user', isIntermediate: false });
      names.set(file.path, dto.image_name);
      log.info(`uploaded ${file.path} as ${dto.image_name}`);
    } catch (err) {
      // 415: the server could not read it as an image after all.
      if (err instanceof HttpError && (err.status === 415 || err.status === 422)) {
        throw new OutputsError('BAD_INPUT', `${ref.flag} ${ref.target}=${file.path}: the server refused the upload (${errorMessage(err)})`, { cause: err });
      }
      throw err;
    }
  }
  return names;
}
