import { expect } from 'chai';
import { childOutput } from '../../launcher/child-output';
import { createLogger } from '../../common/logger';

/** The launcher's stdout and logger, both into one list of lines. */
function launcherOutput() {
  const out: string[] = [];
  const destination = { write: (chunk: string) => void out.push(chunk) };
  const log = createLogger({ destination }).child({ component: 'launcher' });
  return { out, options: { log, out: destination } };
}

const WORKER_LINE = JSON.stringify({
  level: 30,
  time: 1,
  pid: 7,
  component: 'worker',
  pool: 'cpu',
  msg: 'worker ready',
});

describe('launcher child output', () => {
  it('JSON mode: passes a child JSON line through unchanged and turns any other line into a JSON log line', () => {
    const { out, options } = launcherOutput();
    const show = childOutput('worker:cpu', { ...options, format: 'json' });
    show(WORKER_LINE);
    show('Error: something printed without the logger');
    expect(out[0]).to.equal(`${WORKER_LINE}\n`);
    expect(JSON.parse(out[1])).to.include({
      component: 'launcher',
      process: 'worker:cpu',
      msg: 'Error: something printed without the logger',
    });
  });

  it('JSON mode: a text line keeps the level it states (Postgres FATAL/WARNING, Temporal level=ERROR/WARN)', () => {
    const { out, options } = launcherOutput();
    const postgres = childOutput('postgres', { ...options, format: 'json', kilnLines: false });
    const temporal = childOutput('temporal', { ...options, format: 'json', kilnLines: false });
    postgres('2026-11-30 10:00:00 UTC [1] FATAL:  could not create any TCP/IP sockets');
    postgres('2026-11-30 10:00:00 UTC [1] WARNING:  could not create listen socket for "127.0.0.1"');
    temporal('time=2026-11-30T10:00:00 level=ERROR msg="unable to start"');
    temporal('time=2026-11-30T10:00:00 level=WARN msg="network dial error"');
    postgres('2026-11-30 10:00:00 UTC [1] LOG:  database system is ready to accept connections');
    expect(out.map((line) => (JSON.parse(line) as { level: number }).level)).to.deep.equal([50, 40, 50, 40, 30]);
  });

  it("JSON mode: wraps Postgres' and Temporal's lines as text even when they look like JSON", () => {
    const { out, options } = launcherOutput();
    childOutput('temporal', { ...options, format: 'json', kilnLines: false })('{"level":"warn","msg":"x"}');
    expect(JSON.parse(out[0])).to.include({ process: 'temporal', msg: '{"level":"warn","msg":"x"}' });
  });

  it("pretty mode: prefixes every line with the child's name, rendering JSON lines readable", () => {
    const { out, options } = launcherOutput();
    const show = childOutput('worker:cpu', { ...options, format: 'pretty' });
    show(WORKER_LINE);
    show('plain text');
    expect(out[0]).to.match(/^\[worker:cpu\] +\[[\d:.]+\] INFO: worker ready \{"pool":"cpu"\}\n$/);
    expect(out[0]).to.not.contain('{"level"');
    expect(out[1]).to.equal(`${'[worker:cpu]'.padEnd(14)} plain text\n`);
  });
});
