/** One small job through Kiln's API: what the client saw, with the API's Server-Timing phases. */
export interface JobSample {
  jobId: string;
  /** Wall-clock instants (ms since the epoch, sub-ms): POST sent, 202 received, result received. */
  postedAt: number;
  acceptedAt: number;
  resultAt: number;
  /** The API's phases: POST /api/v1/clustering and GET /api/v1/jobs/:id/result?wait=60 (Server-Timing). */
  postTiming: Record<string, number>;
  resultTiming: Record<string, number>;
  /** The activity's own phases (`timings` in the result: loadMs, computeMs, qualityMs, storeMs). */
  activityTiming: Record<string, number>;
}

/** performance.now() on the wall clock, comparable with Temporal's event times on the same machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** `a;dur=1.5, b;dur=2` → { a: 1.5, b: 2 } (entries without a duration are left out). */
export function parseServerTiming(header: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.trim().split(';');
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith('dur='));
    if (name && dur) out[name] = Number(dur.slice(4));
  }
  return out;
}

/** The Kiln under test: its base URL and an API key (the launcher's bootstrap key). */
export interface KilnApi {
  url: string;
  key: string;
}

/**
 * POSTs a clustering body (JSON text) and waits for its result (GET .../result?wait=60); throws on any answer but
 * 202 then 200, or a result without `expectLabels` labels.
 */
export async function runJob(api: KilnApi, body: string, expectLabels: number): Promise<JobSample> {
  const postedAt = wallNow();
  const authorization = `Bearer ${api.key}`;
  const posted = await fetch(`${api.url}/api/v1/clustering`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body,
  });
  const accepted = (await posted.json()) as any;
  const acceptedAt = wallNow();
  if (posted.status !== 202) throw new Error(`POST /api/v1/clustering: ${posted.status} ${JSON.stringify(accepted)}`);
  const res = await fetch(`${api.url}/api/v1/jobs/${accepted.jobId}/result?wait=60`, { headers: { authorization } });
  const result = (await res.json()) as any;
  const resultAt = wallNow();
  if (res.status !== 200) throw new Error(`result of ${accepted.jobId}: ${res.status} ${JSON.stringify(result)}`);
  if (result.labels?.length !== expectLabels)
    throw new Error(`result of ${accepted.jobId} has no ${expectLabels} labels`);
  return {
    jobId: accepted.jobId,
    postedAt,
    acceptedAt,
    resultAt,
    postTiming: parseServerTiming(posted.headers.get('server-timing')),
    resultTiming: parseServerTiming(res.headers.get('server-timing')),
    activityTiming: { ...(result.timings ?? {}) },
  };
}
