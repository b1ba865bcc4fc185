import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng, encodeWebp } from '../../src/simulator/encode';

/** Input images for uploads: a real PNG and a real lossless WebP of one colour, and a JPEG header. */
export function pngBytes(width: number, height: number): Buffer {
  return encodePng(width, height, { r: 200, g: 40, b: 90, a: 255 });
}

export function webpBytes(width: number, height: number): Buffer {
  return encodeWebp(width, height, { r: 20, g: 140, b: 60, a: 255 });
}

/**
 * SOI, a JFIF APP0 segment, a baseline frame header (SOF0) and EOI: no scan data. Enough for anything that reads
 * a JPEG's type and size from its header, which is all the simulator (and the client's sniffing) does.
 */
export function jpegBytes(width: number, height: number): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0, 0, 0, 0, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]),
    sof,
    Buffer.from([0xff, 0xd9]),
  ]);
}

export function writeFile(dir: string, name: string, bytes: Buffer | string): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** A multipart upload as InvokeAI's web client sends it (`fetch` with a FormData body). */
export async function uploadForm(base: string, query: string, file: { bytes: Buffer; type: string; name?: string } | null, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown; headers: Headers }> {
  const form = new FormData();
  if (file) form.append('file', new Blob([file.bytes], { type: file.type }), file.name ?? 'input');
  const res = await fetch(`${base}/api/v1/images/upload${query}`, { method: 'POST', body: form, headers });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown), headers: res.headers };
}
