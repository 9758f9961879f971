import { expect } from 'chai';
import * as http from 'node:http';
import * as net from 'node:net';
import { ConfigError } from '../../common/config';
import { listenOn, listenProblem } from '../../common/listen';
import { expectRejects } from '../support/expect-rejects';

/** A server listening on a free loopback port, and that port. */
async function occupied(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

const close = (server: net.Server) => new Promise((resolve) => server.close(resolve));

describe('common/listen', () => {
  it('rejects with a ConfigError naming the variable when the port is in use, not an unhandled error event', async () => {
    const { server: taken, port } = await occupied();
    const server = http.createServer();
    try {
      await expectRejects(
        listenOn(server, { port, host: '127.0.0.1', portVariable: 'PORT', hostVariable: 'HOST' }, () => undefined),
        (err) => {
          expect(err).to.be.instanceOf(ConfigError);
          expect(err.message).to.equal(
            `port ${port} on 127.0.0.1 is in use: set PORT to a free port (0: any free one)`,
          );
        },
      );
      expect(server.listening).to.equal(false);
    } finally {
      await close(taken);
    }
  });

  it('rejects with a ConfigError naming HOST for an address that is not this machine', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): assigned to no machine.
    const server = http.createServer();
    await expectRejects(
      listenOn(server, { port: 0, host: '192.0.2.1', portVariable: 'PORT', hostVariable: 'HOST' }, () => undefined),
      (err) => {
        expect(err).to.be.instanceOf(ConfigError);
        expect(err.message).to.equal(
          '192.0.2.1 is not an address of this machine, so nothing can listen on it: ' +
            'set HOST (e.g. 127.0.0.1, or 0.0.0.0 for every interface)',
        );
      },
    );
  });

  it('explains the other listen errors a configuration causes, and leaves the rest as they are', () => {
    const at = { port: 80, host: 'api.internal', portVariable: 'PORT', hostVariable: 'HOST' };
    const error = (code: string) => Object.assign(new Error(code), { code });
    expect(listenProblem(error('EACCES'), at)).to.equal(
      'port 80 on api.internal needs privileges this process lacks: set PORT to 1024 or above',
    );
    expect(listenProblem(error('ENOTFOUND'), at)).to.match(
      /^host api\.internal does not resolve to an address: set HOST/,
    );
    expect(listenProblem(error('EMFILE'), at)).to.equal(undefined);
  });

  it('resolves once listening, and hands later errors to onLaterError instead of throwing them', async () => {
    const server = http.createServer();
    const later: Error[] = [];
    await listenOn(server, { port: 0, host: '127.0.0.1', portVariable: 'PORT' }, (err) => later.push(err));
    try {
      expect(server.listening).to.equal(true);
      server.emit('error', new Error('accept EMFILE'));
      expect(later.map((err) => err.message)).to.deep.equal(['accept EMFILE']);
    } finally {
      await close(server);
    }
  });
});
