import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import { DatabaseError, Pool } from 'pg';
import { asActivityFailure, withFailureClasses } from '../../activities/failure-classes';
import { NotFoundError, UnprocessableError } from '../../common/errors';
import { repoRoot } from '../../common/paths';
import { freePort } from '../../launcher/free-port';
import { ACTIVITY_RETRY, OUTAGE_TOLERANCE_MINUTES } from '../../workflows/retry-policies';
import { fromWorkflowPolicy, retryWindowSeconds } from '../support/retry-window';

/**
 * Issue "nothing lost": a 60 s Postgres outage failed every queued clustering job, whose 5 attempts gave up after
 * 1 + 2 + 4 + 8 = 15 s. These checks need no server: the policy's window, where it is used, and which errors retry.
 * test/faults/outage.test.ts stops a real Postgres under running jobs.
 */
describe('retry policies outlast a documented outage (issue "nothing lost")', () => {
  it('the old policies gave up after 15 s (5 attempts) and 151 s (10 attempts) of failures', () => {
    const old = { initialSeconds: 1, backoffCoefficient: 2, maximumSeconds: 30 };
    expect(retryWindowSeconds({ ...old, maximumAttempts: 5 })).to.equal(15);
    expect(retryWindowSeconds({ ...old, maximumAttempts: 10 })).to.equal(151);
  });

  it(`ACTIVITY_RETRY retries for at least OUTAGE_TOLERANCE_MINUTES (${OUTAGE_TOLERANCE_MINUTES}, at least 10) when every attempt fails at once`, () => {
    expect(OUTAGE_TOLERANCE_MINUTES).to.be.at.least(10);
    const window = retryWindowSeconds(fromWorkflowPolicy(ACTIVITY_RETRY));
    expect(window).to.be.at.least(OUTAGE_TOLERANCE_MINUTES * 60);
    expect(window).to.equal(3631);
    // Once the outage ends, the next attempt comes within 30 s.
    expect(msToNumber(ACTIVITY_RETRY.maximumInterval!)).to.be.at.most(30_000);
  });

  it('every activity a workflow proxies retries under ACTIVITY_RETRY (no workflow sets its own policy)', () => {
    const dir = path.join(repoRoot, 'workflows');
    const sources = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'retry-policies.ts')
      .map((f) => ({ file: f, text: fs.readFileSync(path.join(dir, f), 'utf8') }));
    const retries = sources.flatMap(({ file, text }) =>
      [...text.matchAll(/\bretry:\s*([^,}\n]+)/g)].map((m) => `${file}: ${m[1].trim()}`),
    );
    expect(retries.length).to.be.at.least(5);
    for (const retry of retries) expect(retry).to.match(/: ACTIVITY_RETRY$/);
    for (const { file, text } of sources) expect(text, file).to.not.match(/maximumAttempts|scheduleToCloseTimeout/);
  });

  describe('which errors an activity retries (activities/failure-classes.ts)', () => {
    it('a refused Postgres connection is retried: the error passes through as it is', async () => {
      const pool = new Pool({ connectionString: `postgres://kiln:kiln@127.0.0.1:${await freePort()}/kiln` });
      const refused = await pool.query('SELECT 1').then(
        () => undefined,
        (err: unknown) => err,
      );
      await pool.end();
      expect((refused as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
      expect(asActivityFailure(refused)).to.equal(refused);
    });

    it('a server shutting down or starting up (57P01, 57P03) is retried', () => {
      for (const code of ['57P01', '57P03']) {
        const err = new DatabaseError('terminating connection due to administrator command', 0, 'error');
        err.code = code;
        expect(asActivityFailure(err)).to.equal(err);
      }
    });

    it('a domain error fails at once: non-retryable, with its own type and message', async () => {
      const failure = asActivityFailure(new NotFoundError('model', 'churn', 'name'));
      expect(failure).to.be.instanceOf(ApplicationFailure);
      expect(failure).to.include({
        nonRetryable: true,
        type: 'NotFoundError',
        message: 'model "churn" does not exist',
      });
      const wrapped = withFailureClasses({
        async run(): Promise<void> {
          throw new UnprocessableError('column x is text');
        },
      });
      const thrown = await wrapped.run().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(thrown).to.be.instanceOf(ApplicationFailure);
      expect(thrown).to.include({ nonRetryable: true, type: 'UnprocessableError', message: 'column x is text' });
    });

    it('an ApplicationFailure the activity built passes through, retryable or not', () => {
      const retryable = ApplicationFailure.retryable('try again', 'Transient');
      const permanent = ApplicationFailure.nonRetryable('bad input', 'InvalidJobInput');
      expect(asActivityFailure(retryable)).to.equal(retryable);
      expect(asActivityFailure(permanent)).to.equal(permanent);
    });
  });
});
