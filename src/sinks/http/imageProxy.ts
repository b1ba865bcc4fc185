import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Logger } from '../../log';
import type { KnownImage } from './recordStore';
import type { LiveSource } from './source';

/**
 * `GET /images/<record_id>/thumbnail|full`: the bytes of a known image record's image, from its server with the
 * daemon's credentials, streamed as they arrive (never held whole). The caller has already refused unknown ids.
 */
export async function proxyImage(res: ServerResponse, image: KnownImage, size: 'full' | 'thumbnail', source: LiveSource, log: Logger): Promise<void> {
  let upstream;
  try {
    upstream = await source.fetchImage(image.server, image.imageName, size);
  } catch (err) {
    log.debug(`image ${image.imageName} (${size}): ${(err as Error).message}`);
    return plain(res, 502, 'the image server cannot be reached');
  }
  const body = upstream.body as Readable;
  if (upstream.status !== 200) {
    body.resume();
    return plain(res, upstream.status === 404 ? 404 : 502, upstream.status === 404 ? 'the server no longer has this image' : `the image server answered ${upstream.status}`);
  }
  // Only image types are passed on: whatever else a server sends must not become a document of this origin.
  const type = upstream.contentType && /^image\/[\w.+-]+$/i.test(upstream.contentType.split(';')[0]!.trim()) ? upstream.contentType : 'application/octet-stream';
  res.writeHead(200, {
    'content-type': type,
    ...(upstream.contentLength === null ? {} : { 'content-length': upstream.contentLength }),
    // InvokeAI never changes an image's bytes under the same name.
    'cache-control': 'private, max-age=86400, immutable',
    'content-security-policy': "default-src 'none'; sandbox",
  });
  try {
    await pipeline(body, res);
  } catch (err) {
    // Most often the browser went away mid-image (a lazy thumbnail scrolled out): nothing to report.
    log.debug(`image ${image.imageName} (${size}) cut short: ${(err as Error).message}`);
  }
}

function plain(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' }).end(`${text}\n`);
}
