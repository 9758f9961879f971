import { expect } from 'chai';
import * as net from 'node:net';
import { freePort } from '../../launcher/free-port';
import { assertPortsFree, PortsUnavailableError } from '../../launcher/port-check';

describe('launcher: ports checked before anything starts', () => {
  it('passes when every planned port is free (port 0 means none and is skipped)', async () => {
    const port = await freePort();
    await assertPortsFree([
      { setting: 'PORT', port, host: '127.0.0.1' },
      { setting: 'KILN_WORKER_METRICS_PORT', port: 0, host: '127.0.0.1' },
    ]);
  });

  it('names every taken port with the setting that chose it', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    const free = await freePort();
    try {
      const err = await assertPortsFree([
        { setting: 'KILN_POSTGRES_PORT', port: taken, host: '127.0.0.1' },
        { setting: 'PORT', port: free, host: '127.0.0.1' },
      ]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(PortsUnavailableError);
      const problems = (err as PortsUnavailableError).problems;
      expect(problems).to.deep.equal([`KILN_POSTGRES_PORT=${taken} on 127.0.0.1: in use`]);
      expect((err as Error).message).to.contain('choose free ports');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('says why a host cannot be bound at all', async () => {
    const err = await assertPortsFree([{ setting: 'PORT', port: await freePort(), host: '192.0.2.1' }]).then(
      () => undefined,
      (e: unknown) => e as PortsUnavailableError,
    );
    expect(err?.problems[0]).to.match(/^PORT=\d+ on 192\.0\.2\.1: EADDRNOTAVAIL/);
  });
});
