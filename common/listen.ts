import type * as net from 'node:net';
import { ConfigError } from './config-error';

/** Where a server listens and which variables set it, so that a failure can say which one to change. */
export interface ListenAddress {
  port: number;
  host: string;
  /** The variable that sets the port, e.g. `PORT`. */
  portVariable: string;
  /** The variable that sets the host, e.g. `HOST`; absent where the host is fixed. */
  hostVariable?: string;
}

/**
 * The one-line explanation of a listen error that the configuration caused, naming the variable to change, or
 * undefined for any other error. EADDRINUSE: the port is taken; EACCES: a port below 1024 without the privilege;
 * EADDRNOTAVAIL: the host is not an address of this machine; ENOTFOUND / EAI_AGAIN: the host name does not resolve.
 */
export function listenProblem(err: NodeJS.ErrnoException, address: ListenAddress): string | undefined {
  const { port, host, portVariable, hostVariable } = address;
  const setHost = hostVariable ? `set ${hostVariable} (e.g. 127.0.0.1, or 0.0.0.0 for every interface)` : undefined;
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is in use: set ${portVariable} to a free port (0: any free one)`;
    case 'EACCES':
      return `port ${port} on ${host} needs privileges this process lacks: set ${portVariable} to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine, so nothing can listen on it${setHost ? `: ${setHost}` : ''}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `host ${host} does not resolve to an address${setHost ? `: ${setHost}` : ''}`;
    default:
      return undefined;
  }
}

/**
 * Starts `server` listening on address.host:address.port and resolves once it does. A listen error the configuration
 * caused (a port in use, a host that is not this machine's: listenProblem) rejects with a ConfigError whose one line
 * names the variable to change; any other rejects as it is. Errors after the server listens go to `onLaterError`
 * (the server stays up), so that none is an unhandled 'error' event.
 */
export function listenOn(
  server: net.Server,
  address: ListenAddress,
  onLaterError: (err: Error) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      server.off('listening', listening);
      const problem = listenProblem(err, address);
      reject(problem ? new ConfigError(problem) : err);
    };
    const listening = () => {
      server.off('error', failed);
      server.on('error', onLaterError);
      resolve();
    };
    server.once('error', failed);
    server.once('listening', listening);
    server.listen(address.port, address.host);
  });
}
