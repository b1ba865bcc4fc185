import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { OutputsError } from '../../src/errors';
import { InvokeHttp } from '../../src/invoke/http';
import { serverEndpoints } from '../../src/invoke/url';
import { ImageDownloader } from '../../src/output/download';
import { Teardown, imageRecord, listen, sleep, tempDir, type TestServer } from './helpers';

const PREFIX = '/api/v1/images/i/';
const SUFFIX = '/full';

/** Fake PNG bytes: the signature, then enough noise to arrive in several chunks. */
function png(size = 200_000): Buffer {
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(size)]);
}

function imageName(url: string | undefined): string | undefined {
  if (!url?.startsWith(PREFIX) || !url.endsWith(SUFFIX)) return undefined;
  return decodeURIComponent(url.slice(PREFIX.length, -SUFFIX.length));
}

const td = new Teardown();
afterEach(() => td.run());

async function setup(images: Map<string, Buffer>, opts: { delayMs?: number; concurrency?: number } = {}) {
  const seen: string[] = [];
  let active = 0;
  let maxActive = 0;
  const srv: TestServer = td.add(
    await listen((req, res) => {
      const name = imageName(req.url);
      seen.push(name ?? String(req.url));
      const bytes = name === undefined ? undefined : images.get(name);
      if (!bytes) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Image not found"}');
        return;
      }
      active += 1;
      maxActive = Math.max(maxActive, active);
      setTimeout(() => {
        active -= 1;
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': bytes.length }).end(bytes);
      }, opts.delayMs ?? 0);
    }),
    (s) => s.close(),
  );
  const http = td.add(new InvokeHttp({ endpoints: serverEndpoints(srv.url), maxRetries: 0 }), (h) => h.close());
  const dir = await tempDir(td);
  const dl = td.add(
    new ImageDownloader({ dir, http, ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }) }),
    (d) => d.close(),
  );
  return { srv, dir, dl, seen, maxActive: () => maxActive };
}

test('saves the image to <dir>/<board>/<name> and does not fetch it again', async () => {
  const bytes = png();
  const { dir, dl, seen } = await setup(new Map([['e007a5d1.png', bytes]]));
  const rec = imageRecord();
  const file = await dl.download(rec);
  expect(isAbsolute(file)).toBe(true);
  expect(file).toBe(join(dir, 'a17c2b12', 'e007a5d1.png'));
  expect((await readFile(file)).equals(bytes)).toBe(true);
  expect(await readdir(join(dir, 'a17c2b12'))).toEqual(['e007a5d1.png']);

  expect(await dl.download(rec)).toBe(file);
  expect(seen).toEqual(['e007a5d1.png']);
});

test('uncategorized images go to the "none" folder; names are URI-encoded in the request', async () => {
  const bytes = png(1000);
  const name = 'weird name #1?.png';
  const { dir, dl, seen } = await setup(new Map([[name, bytes]]));
  const file = await dl.download(imageRecord({ board_id: 'none', image_name: name }));
  expect(file).toBe(join(dir, 'none', name));
  expect((await readFile(file)).equals(bytes)).toBe(true);
  expect(seen).toEqual([name]);
});

test('a file already at the final path is kept and not fetched', async () => {
  const { dir, dl, seen } = await setup(new Map([['e007a5d1.png', png(100)]]));
  await mkdir(join(dir, 'a17c2b12'), { recursive: true });
  await writeFile(join(dir, 'a17c2b12', 'e007a5d1.png'), 'earlier');
  expect(await dl.download(imageRecord())).toBe(join(dir, 'a17c2b12', 'e007a5d1.png'));
  expect(await readFile(join(dir, 'a17c2b12', 'e007a5d1.png'), 'utf8')).toBe('earlier');
  expect(seen).toEqual([]);
});

test('records naming the same image at once share one download', async () => {
  const { dl, seen } = await setup(new Map([['e007a5d1.png', png(1000)]]), { delayMs: 50 });
  const [a, b] = await Promise.all([dl.download(imageRecord()), dl.download(imageRecord({ item_id: 2 }))]);
  expect(a).toBe(b);
  expect(seen).toHaveLength(1);
});

test('a 404 is a one-line error and leaves no file', async () => {
  const { dir, dl } = await setup(new Map());
  const err = await dl.download(imageRecord({ image_name: 'gone.png' })).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OutputsError);
  expect((err as OutputsError).code).toBe('NOT_FOUND');
  expect((err as OutputsError).message).toBe('download gone.png: GET /images/i/gone.png/full answered HTTP 404');
  expect(existsSync(join(dir, 'a17c2b12', 'gone.png'))).toBe(false);
  expect(existsSync(join(dir, 'a17c2b12')) ? await readdir(join(dir, 'a17c2b12')) : []).toEqual([]);
});

test('a server that dies mid-body leaves nothing at the final path (nor a temporary file)', async () => {
  let requests = 0;
  const srv = td.add(
    await listen((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': 100_000 });
      res.write(png(20_000), () => setTimeout(() => res.socket?.destroy(), 20));
    }),
    (s) => s.close(),
  );
  const http = td.add(new InvokeHttp({ endpoints: serverEndpoints(srv.url), maxRetries: 0 }), (h) => h.close());
  const dir = await tempDir(td);
  const dl = td.add(new ImageDownloader({ dir, http }), (d) => d.close());
  await expect(dl.download(imageRecord())).rejects.toThrow(/^download e007a5d1\.png: /);
  expect(requests).toBe(1);
  expect(await readdir(join(dir, 'a17c2b12'))).toEqual([]);
});

test.each([
  ['resumes a body cut short with Range, and the file is whole', true],
  ['fails a body cut short when the server ignores Range, leaving no file', false],
])('with the default retrying client, it %s', async (_what, ranges) => {
  let requests = 0;
  const bytes = png(50_000);
  const srv = td.add(
    await listen((req, res) => {
      requests += 1;
      const range = /^bytes=(\d+)-/.exec(req.headers.range ?? '');
      if (requests > 1 && range && ranges) {
        const from = Number(range[1]);
        res.writeHead(206, {
          'content-type': 'image/png',
          'content-length': bytes.length - from,
          'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}`,
        });
        res.end(bytes.subarray(from));
        return;
      }
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': bytes.length });
      res.write(bytes.subarray(0, 10_000), () => setTimeout(() => res.socket?.destroy(), 20));
    }),
    (s) => s.close(),
  );
  const http = td.add(new InvokeHttp({ endpoints: serverEndpoints(srv.url) }), (h) => h.close());
  const dir = await tempDir(td);
  const dl = td.add(new ImageDownloader({ dir, http }), (d) => d.close());
  const target = join(dir, 'a17c2b12', 'e007a5d1.png');
  if (ranges) {
    expect(await dl.download(imageRecord())).toBe(target);
    expect((await readFile(target)).equals(bytes)).toBe(true);
    expect(await readdir(join(dir, 'a17c2b12'))).toEqual(['e007a5d1.png']);
  } else {
    await expect(dl.download(imageRecord())).rejects.toThrow(/^download e007a5d1\.png: /);
    expect(await readdir(join(dir, 'a17c2b12'))).toEqual([]);
  }
  expect(requests).toBe(2);
});

test.each([
  ['board id with a slash', { board_id: '../etc' }],
  ['board id ..', { board_id: '..' }],
  ['image name with a slash', { image_name: 'a/b.png' }],
  ['image name with a backslash', { image_name: 'a\\b.png' }],
  ['image name with ..', { image_name: '..png' }],
  ['empty image name', { image_name: '' }],
])('refuses a path-traversing %s without a request', async (_what, over) => {
  const { dl, seen, dir } = await setup(new Map([['x.png', png(10)]]));
  await expect(dl.download(imageRecord(over))).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/unsafe/) as unknown });
  expect(seen).toEqual([]);
  expect(await readdir(dir)).toEqual([]);
});

test('limits the downloads in flight', async () => {
  const images = new Map(Array.from({ length: 8 }, (_, i) => [`img${i}.png`, png(5000)] as const));
  const { dl, dir, maxActive } = await setup(images, { delayMs: 40, concurrency: 2 });
  const files = await Promise.all([...images.keys()].map((name) => dl.download(imageRecord({ image_name: name }))));
  expect(files).toHaveLength(8);
  expect(maxActive()).toBe(2);
  expect((await readdir(join(dir, 'a17c2b12'))).sort()).toEqual([...images.keys()].sort());
});

test('close waits for downloads in flight, then refuses new ones', async () => {
  const { dl } = await setup(new Map([['e007a5d1.png', png(1000)]]), { delayMs: 50 });
  let done = false;
  const p = dl.download(imageRecord()).then(() => (done = true));
  await sleep(10);
  await dl.close();
  expect(done).toBe(true);
  await p;
  await expect(dl.download(imageRecord({ image_name: 'other.png' }))).rejects.toMatchObject({ code: 'CLOSED' });
});

test('temporary files left by a crashed run are removed once stale', async () => {
  const { dir, dl } = await setup(new Map([['e007a5d1.png', png(100)]]));
  const folder = join(dir, 'a17c2b12');
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, '.old.png.0123456789ab.part'), 'half');
  await writeFile(join(folder, '.busy.png.0123456789ab.part'), 'being written by another process');
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(join(folder, '.old.png.0123456789ab.part'), hourAgo, hourAgo);
  await dl.download(imageRecord());
  expect((await readdir(folder)).sort()).toEqual(['.busy.png.0123456789ab.part', 'e007a5d1.png']);
});
