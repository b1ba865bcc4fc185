import { deflateSync } from 'node:zlib';

/** Image bytes for served files: a solid colour is enough, but headers must be real (docs/protocol.md §5.5). */
export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A valid RGB PNG of one colour; `text` becomes tEXt chunks (InvokeAI embeds `invokeai_metadata` so). */
export function encodePng(width: number, height: number, color: Rgba, text: Record<string, string> = {}): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) {
    row[1 + x * 3] = color.r;
    row[2 + x * 3] = color.g;
    row[3 + x * 3] = color.b;
  }
  const raw = Buffer.alloc(row.length * height);
  for (let y = 0; y < height; y++) row.copy(raw, y * row.length);
  const texts = Object.entries(text).map(([k, v]) => chunk('tEXt', Buffer.from(`${k}\0${v}`, 'latin1')));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...texts,
    chunk('IDAT', deflateSync(raw, { level: 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;
  write(value: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      this.acc |= ((value >>> i) & 1) << this.n;
      this.n++;
      if (this.n === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.n = 0;
      }
    }
  }
  finish(): Buffer {
    if (this.n > 0) this.bytes.push(this.acc);
    return Buffer.from(this.bytes);
  }
}

/**
 * Lossless WebP (VP8L) of one colour, the thumbnail format. Each of the five prefix codes is a
 * one-symbol "simple code", which costs zero bits per pixel, so the bitstream is only its headers.
 */
export function encodeWebp(width: number, height: number, color: Rgba): Buffer {
  const w = new BitWriter();
  w.write(0x2f, 8);
  w.write(width - 1, 14);
  w.write(height - 1, 14);
  w.write(color.a === 255 ? 0 : 1, 1);
  w.write(0, 3); // version
  w.write(0, 1); // no transform
  w.write(0, 1); // no colour cache
  w.write(0, 1); // no meta prefix codes
  for (const symbol of [color.g, color.r, color.b, color.a, 0]) {
    w.write(1, 1); // simple code
    w.write(0, 1); // one symbol
    const wide = symbol > 1 ? 1 : 0;
    w.write(wide, 1);
    w.write(symbol, wide ? 8 : 1);
  }
  const data = w.finish();
  const pad = data.length % 2;
  const riff = Buffer.alloc(20);
  riff.write('RIFF', 0, 'ascii');
  riff.writeUInt32LE(4 + 8 + data.length + pad, 4);
  riff.write('WEBP', 8, 'ascii');
  riff.write('VP8L', 12, 'ascii');
  riff.writeUInt32LE(data.length, 16);
  return Buffer.concat([riff, data, Buffer.alloc(pad)]);
}
