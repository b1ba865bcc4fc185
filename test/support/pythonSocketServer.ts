/**
 * Spawns test/support/pysio/server.py (python-socketio AsyncServer in ASGI mode under uvicorn, wired like
 * InvokeAI's socket layer) with Debian's /usr/bin/python3 and drives it over its HTTP control routes.
 *
 * Needs the Debian packages python3-socketio and python3-uvicorn (.ci/run installs them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';

export interface PythonSocketServerOptions {
  /** Public path prefix (InvokeAI `base_url`), e.g. `/invoke`. Socket.IO path becomes `<prefix>/ws/socket.io`. */
  prefix?: string;
  /** Port to bind; 0 (default) picks a free one. */
  port?: number;
  /** Interpreter; defaults to $PYSIO_PYTHON or /usr/bin/python3 (NOT the pyenv python on PATH). */
  python?: string;
  /** How long to wait for the server to report readiness. Default 10 s. */
  startTimeoutMs?: number;
  /** Mirror the server's stderr to this process's stderr (also enabled by PYSIO_DEBUG=1). */
  debug?: boolean;
}

export interface ReceivedClientEvent {
  sid: string;
  event: string;
  data: unknown;
  /** false when the handler raised (malformed payload ⇒ no ACK was sent) */
  ok: boolean;
}

export interface PythonSocketServer {
  /** Base URL of the fake InvokeAI server: `http://127.0.0.1:<port><prefix>`. */
  readonly url: string;
  /** Origin without prefix: `http://127.0.0.1:<port>` (what socket.io-client's `io()` gets). */
  readonly origin: string;
  /** Socket.IO path: `<prefix>/ws/socket.io`. */
  readonly path: string;
  readonly port: number;
  /** Server-side `sio.emit(event, data, room=room)`; room may be a list (deduplicated); omitted = broadcast. */
  emit(event: string, data: unknown, room?: string | string[]): Promise<void>;
  /** Server-side disconnect of every connected sid (client sees reason `io server disconnect`). */
  disconnectAll(): Promise<number>;
  /** Connected sids → rooms (excluding the sid's own room). */
  clients(): Promise<Record<string, string[]>>;
  /** Client → server events the handlers saw, in order. */
  received(): Promise<ReceivedClientEvent[]>;
  /** Stop the process (transport drop for connected clients) and start again on the SAME port. */
  restart(): Promise<void>;
  /** Stop the process. Idempotent. */
  close(): Promise<void>;
}

const SCRIPT = path.join(__dirname, 'pysio', 'server.py');
const STDERR_TAIL = 8192;

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  stderr: () => string;
}

interface StartResult extends Running {
  port: number;
  path: string;
}

function missingDepsHint(stderr: string): string {
  return /missing python module|No module named/.test(stderr)
    ? ' python3-socketio / python3-uvicorn are not importable by that interpreter; install them with ' +
        '`apt-get install -y --no-install-recommends python3-socketio python3-uvicorn` (or run .ci/run).'
    : '';
}

function spawnServer(python: string, port: number, prefix: string, timeoutMs: number, debug: boolean): Promise<StartResult> {
  return new Promise<StartResult>((resolve, reject) => {
    const child = spawn(python, [SCRIPT, '--port', String(port), '--prefix', prefix], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    });
    let stderr = '';
    let stdout = '';
    let settled = false;
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    const tail = (): string => stderr.slice(-STDERR_TAIL);

    const fail = (message: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(new Error(message));
    };

    const timer = setTimeout(
      () => fail(`pysio fixture did not become ready within ${timeoutMs} ms.${missingDepsHint(stderr)}\nstderr:\n${tail()}`),
      timeoutMs,
    );

    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4 * STDERR_TAIL);
      if (debug) process.stderr.write(`[pysio] ${chunk}`);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (settled) return;
      stdout += chunk;
      const nl = stdout.indexOf('\n');
      if (nl < 0) return;
      const line = stdout.slice(0, nl);
      let ready: { port?: unknown; path?: unknown };
      try {
        ready = JSON.parse(line) as { port?: unknown; path?: unknown };
      } catch {
        fail(`pysio fixture printed an unexpected first line: ${JSON.stringify(line)}\nstderr:\n${tail()}`);
        return;
      }
      if (typeof ready.port !== 'number' || typeof ready.path !== 'string') {
        fail(`pysio fixture readiness line lacks port/path: ${line}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve({ child, exited, stderr: tail, port: ready.port, path: ready.path });
    });
    child.stdin?.on('error', () => undefined); // EPIPE if python died first
    child.once('error', (err: NodeJS.ErrnoException) => {
      fail(
        err.code === 'ENOENT'
          ? `cannot start the pysio fixture: ${python} not found (the fixture needs Debian's python3 with python3-socketio and python3-uvicorn)`
          : `cannot start the pysio fixture with ${python}: ${err.message}`,
      );
    });
    child.once('exit', (code, signal) => {
      fail(
        `pysio fixture exited before becoming ready (code ${String(code)}, signal ${String(signal)}).` +
          `${missingDepsHint(stderr)}\nstderr:\n${tail()}`,
      );
    });
  });
}

/**
 * `graceful`: SIGTERM, i.e. uvicorn's shutdown (websocket close frames, 0.5 s grace for pending long-polls), as a
 * real server restart would do. Otherwise close stdin: fast teardown. Either way SIGKILL after 5 s.
 */
async function stopServer(running: Running, graceful: boolean): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (graceful) child.kill('SIGTERM');
  else child.stdin?.end();
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
  try {
    await running.exited;
  } finally {
    clearTimeout(killTimer);
    child.stdin?.destroy();
  }
}

function request(port: number, method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: route,
        agent: false,
        headers: {
          connection: 'close',
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        timeout: 5000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            reject(new Error(`pysio control ${method} ${route} → HTTP ${String(res.statusCode)}: ${text}`));
            return;
          }
          try {
            resolve(JSON.parse(text) as unknown);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`pysio control ${method} ${route} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function startPythonSocketServer(opts: PythonSocketServerOptions = {}): Promise<PythonSocketServer> {
  const python = opts.python ?? process.env['PYSIO_PYTHON'] ?? '/usr/bin/python3';
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  const debug = opts.debug ?? process.env['PYSIO_DEBUG'] === '1';
  let prefix = (opts.prefix ?? '').replace(/\/+$/, '');
  if (prefix && !prefix.startsWith('/')) prefix = `/${prefix}`;

  let current: StartResult | null = await spawnServer(python, opts.port ?? 0, prefix, timeoutMs, debug);
  const port = current.port;
  const socketPath = current.path;
  const origin = `http://127.0.0.1:${port}`;

  const control = (method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> => {
    if (!current) return Promise.reject(new Error('pysio fixture is closed'));
    return request(port, method, route, body);
  };

  return {
    url: origin + prefix,
    origin,
    path: socketPath,
    port,
    async emit(event, data, room) {
      await control('POST', '/control/emit', { event, data, room: room ?? null });
    },
    async disconnectAll() {
      const res = (await control('POST', '/control/disconnect_all', {})) as { disconnected: number };
      return res.disconnected;
    },
    async clients() {
      const res = (await control('GET', '/control/clients')) as { clients: Record<string, string[]> };
      return res.clients;
    },
    async received() {
      const res = (await control('GET', '/control/received')) as { received: ReceivedClientEvent[] };
      return res.received;
    },
    async restart() {
      if (!current) throw new Error('pysio fixture is closed');
      const old = current;
      current = null;
      await stopServer(old, true);
      // Same port again; retry briefly in case the port is momentarily unavailable.
      let lastError: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          current = await spawnServer(python, port, prefix, timeoutMs, debug);
          return;
        } catch (err) {
          lastError = err;
          await sleep(200);
        }
      }
      throw lastError instanceof Error ? lastError : new Error(String(lastError));
    },
    async close() {
      const running = current;
      current = null;
      if (running) await stopServer(running, false);
    },
  };
}
