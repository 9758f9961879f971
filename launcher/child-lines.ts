import { ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';

/** Calls `onLine` with each whole line the child writes to stdout or stderr (a line split across chunks stays whole). */
export function forwardLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
  }
}
