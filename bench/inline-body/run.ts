import { fork } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { Readable } from 'node:stream';

/**
 * Inline `data` on POST /api/v1/clustering under load: BODIES concurrent requests of BODY_MB MB each, rows of three
 * numbers (`[1.25,2.5,3.75],` 16 bytes each: about 3.9 million rows, past the 1,000,000-row limit), generated as
 * they are sent. Reports, for the API in a child process of its own (bench/inline-body/server.ts): each request's
 * time to its answer (413), the bytes each client had sent by then, the API's peak RSS and its longest event-loop
 * stall.
 *
 *   npm run build:test && node dist/bench/inline-body/run.js                   # this tree
 *   node dist/bench/inline-body/run.js /tmp/kiln-before/dist                    # another build ("before")
 *   KILN_BENCH_BODIES=12 KILN_BENCH_BODY_MB=60 node dist/bench/inline-body/run.js
 */
const BODIES = Number(process.env.KILN_BENCH_BODIES ?? 12);
const BODY_MB = Number(process.env.KILN_BENCH_BODY_MB ?? 60);
const CHUNK_ROWS = 4096;
const ROW = '[1.25,2.5,3.75],';

interface Answer {
  status: number;
  ms: number;
  sentBytes: number;
  field?: string;
}

/** The body as a stream: the envelope, then rows until BODY_MB MB, then the close; counts what was read from it. */
function body(counter: { bytes: number }): Readable {
  const total = BODY_MB * 1e6;
  const head = '{"algorithm":"kmeans","params":{"k":2},"data":[';
  const chunk = ROW.repeat(CHUNK_ROWS);
  let produced = 0;
  let closed = false;
  return new Readable({
    read() {
      if (closed) return this.push(null);
      let text: string;
      if (produced === 0) text = head;
      else if (produced + chunk.length < total) text = chunk;
      else {
        text = '[0,0,0]]}';
        closed = true;
      }
      produced += text.length;
      counter.bytes += text.length;
      this.push(text);
    },
  });
}

function post(port: number): Promise<Answer> {
  const t0 = Date.now();
  const counter = { bytes: 0 };
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/clustering',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const ms = Date.now() - t0;
        const sentBytes = counter.bytes;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          req.destroy();
          let field: string | undefined;
          try {
            field = (JSON.parse(Buffer.concat(parts).toString()) as { error?: { field?: string } }).error?.field;
          } catch {
            field = undefined;
          }
          resolve({ status: res.statusCode ?? 0, ms, sentBytes, ...(field ? { field } : {}) });
        });
      },
    );
    // The server may close the connection while the body is still being written (after its 413): not a failure.
    req.on('error', (err) => (counter.bytes > 0 ? undefined : reject(err)));
    body(counter).pipe(req);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const root = process.argv[2] ?? path.join(__dirname, '..', '..');
  const child = fork(path.join(__dirname, 'server.js'), [root], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: BODIES }, () => post(port)));
  const wallMs = Date.now() - started;
  child.send('report');
  const report = await new Promise<{ maxRssBytes: number; eventLoopMaxMs: number; eventLoopP99Ms: number }>((resolve) =>
    child.once('message', resolve),
  );
  child.kill();
  const times = answers.map((a) => a.ms);
  console.log(
    JSON.stringify({
      build: root,
      bodies: BODIES,
      bodyMB: BODY_MB,
      statuses: [...new Set(answers.map((a) => `${a.status} ${a.field ?? ''}`.trim()))],
      timeToAnswerMs: { min: Math.min(...times), median: median(times), max: Math.max(...times) },
      sentMBWhenAnswered: { median: median(answers.map((a) => a.sentBytes)) / 1e6 },
      wallMs,
      apiPeakRssMiB: Math.round(report.maxRssBytes / 2 ** 20),
      apiEventLoopMaxMs: Math.round(report.eventLoopMaxMs),
      apiEventLoopP99Ms: Math.round(report.eventLoopP99Ms),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
