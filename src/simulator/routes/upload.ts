import type { SimContext } from '../context';
import type { ValidationIssue } from '../fields';
import { IMAGE_CATEGORIES } from '../images';
import { imageInfo } from '../imageInfo';
import { HttpError, Unprocessable, q, type Router } from '../router';

/**
 * `POST /images/upload` (`routers/images.py@HEAD`, `upload_image`): a multipart form with the image in `file`, its
 * category and intermediacy in the query. The image is stored as a new external image: no session, no node, on
 * `board_id` when given (else uncategorized); 201 with its `ImageDTO` and a `Location` header.
 */
export function uploadRoutes(r: Router, ctx: SimContext): void {
  const { images, boards } = ctx;

  r.add('POST', '/images/upload', async ({ query, raw, contentType, caller }) => {
    // FastAPI validates every parameter before answering, and reports all that failed at once.
    const issues: ValidationIssue[] = [];
    const param = <T>(read: () => T): T | undefined => {
      try {
        return read();
      } catch (err) {
        if (!(err instanceof Unprocessable)) throw err;
        issues.push(...err.detail);
        return undefined;
      }
    };
    const category = param(() => q.oneOf(query, 'image_category', IMAGE_CATEGORIES) ?? missing('image_category'));
    const isIntermediate = param(() => q.bool(query, 'is_intermediate') ?? missing('is_intermediate'));
    param(() => q.bool(query, 'crop_visible'));
    const file = await formFile(raw, contentType, issues);
    if (issues.length > 0 || category === undefined || isIntermediate === undefined || !file) throw new Unprocessable(issues);

    if (!file.type.startsWith('image')) throw new HttpError(415, 'Not an image');
    const bytes = Buffer.from(await file.arrayBuffer());
    const info = imageInfo(bytes);
    if (!info) throw new HttpError(415, 'Failed to read image');
    const boardId = query.get('board_id');
    // The board link is a foreign key: an unknown board fails the insert, which the route turns into a 500.
    if (boardId !== null && !boards.has(boardId)) throw new HttpError(500, 'Failed to create image');
    const rec = images.add({
      width: info.width,
      height: info.height,
      category,
      isIntermediate,
      sessionId: query.get('session_id'),
      nodeId: null,
      boardId,
      origin: 'external',
      // The server re-saves every upload as PNG; a PNG is kept byte for byte, others get a PNG of their size.
      ...(info.format === 'png' ? { bytes } : {}),
      ownerId: caller.userId,
    });
    const dto = images.toDTO(rec);
    return { status: 201, json: dto, headers: { location: dto.image_url } };
  });
}

function missing(name: string): never {
  throw new Unprocessable([{ type: 'missing', loc: ['query', name], msg: 'Field required', input: null }]);
}

/** The `file` part of a multipart body (an `UploadFile`); issues as FastAPI words them. */
async function formFile(raw: Buffer, contentType: string, issues: ValidationIssue[]): Promise<File | undefined> {
  const absent = (): undefined => void issues.push({ type: 'missing', loc: ['body', 'file'], msg: 'Field required', input: null });
  if (!contentType.toLowerCase().startsWith('multipart/form-data')) return absent();
  let form: FormData;
  try {
    // The WHATWG multipart parser Node ships (undici's), the same job python-multipart does for Starlette.
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw new HttpError(400, 'There was an error parsing the body');
  }
  const file = form.get('file');
  if (file === null) return absent();
  if (typeof file === 'string') {
    issues.push({ type: 'value_error', loc: ['body', 'file'], msg: `Value error, Expected UploadFile, received: <class 'str'>`, input: file, ctx: { error: {} } });
    return undefined;
  }
  return file;
}
