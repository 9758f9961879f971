import * as net from 'node:net';

/** A port the launcher is about to give a server, and the setting that chose it (named in the error). */
export interface PlannedPort {
  setting: string;
  port: number;
  host: string;
}

/** Thrown before anything starts when a planned port cannot be bound: every taken port is named with its setting. */
export class PortsUnavailableError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `cannot start: ${problems.join('; ')}. Another Kiln (or another program) holds it: stop it, or choose free ` +
        'ports with these variables (README: Configuration)',
    );
    this.name = 'PortsUnavailableError';
  }
}

/** Binds host:port for a moment; resolves undefined when it can, else the reason (EADDRINUSE, EADDRNOTAVAIL, ...). */
function tryBind(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'EADDRINUSE' ? 'in use' : (err.code ?? err.message)),
    );
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Checks every planned port at once, so that a taken one fails `npm start` at once with the setting to change,
 * instead of a child that dies and is restarted forever (or a "ready" that points at somebody else's server).
 * Port 0 (none) is skipped.
 */
export async function assertPortsFree(planned: readonly PlannedPort[]): Promise<void> {
  const results = await Promise.all(
    planned.filter((p) => p.port > 0).map(async (p) => ({ p, why: await tryBind(p.port, p.host) })),
  );
  const problems = results
    .filter((r) => r.why !== undefined)
    .map(({ p, why }) => `${p.setting}=${p.port} on ${p.host}: ${why}`);
  if (problems.length > 0) throw new PortsUnavailableError(problems);
}
