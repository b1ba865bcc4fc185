import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { OutputsError } from '../errors';

/** A local image to upload, read and recognised by its first bytes. */
export interface LocalImage {
  path: string;
  bytes: Buffer;
  mime: 'image/png' | 'image/jpeg' | 'image/webp';
  filename: string;
}

/** The formats InvokeAI's own upload takes from the gallery and workflow image fields. */
function sniff(b: Buffer): LocalImage['mime'] | undefined {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

/**
 * Reads a PNG, JPEG or WebP file; anything else (or a file that cannot be read) is a one-line `BAD_INPUT` error
 * that starts with `label` (e.g. `--image image.image=in.png`).
 */
export function readLocalImage(path: string, label: string): LocalImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'permission denied' : (e.code ?? String(err));
    throw new OutputsError('BAD_INPUT', `${label}: cannot read ${path} (${why})`);
  }
  const mime = sniff(bytes);
  if (!mime) throw new OutputsError('BAD_INPUT', `${label}: ${path} is not a PNG, JPEG or WebP image`);
  return { path, bytes, mime, filename: basename(path) };
}
