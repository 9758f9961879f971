import { randomInt } from 'node:crypto';
import * as http from 'node:http';
import type { JsonResponse, TestApi } from './test-api';

/**
 * A loopback address of its own (all of 127/8 is loopback on Linux), for `localAddress`: the per-address failure
 * budget its requests charge is the caller's alone, whatever other tests charged to 127.0.0.1.
 */
export const freshLoopback = (): string => `127.${randomInt(1, 255)}.${randomInt(1, 255)}.${randomInt(2, 255)}`;

/**
 * A request over node:http: headers go out exactly as given (no credentials added, unlike request()), from
 * `localAddress` when given, with `body` (a string) when given. Answers the JSON body (else the text), the status and
 * the headers (Set-Cookie ones each appended, so that getSetCookie() reads them).
 */
export function rawRequest(
  api: Pick<TestApi, 'baseUrl'>,
  method: string,
  path: string,
  headers: Record<string, string>,
  options: { localAddress?: string; body?: string } = {},
): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${api.baseUrl}${path}`,
      { method, headers, ...(options.localAddress ? { localAddress: options.localAddress } : {}) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
              responseHeaders.append(name, one);
            }
          }
          resolve({ status: res.statusCode ?? 0, body, headers: responseHeaders });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
