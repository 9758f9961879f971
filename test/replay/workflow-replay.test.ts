import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { repoRoot } from '../../common/paths';
import { bundleKilnWorkflows } from '../../workers/workflow-bundle';

const HISTORIES_DIR = path.join(repoRoot, 'test', 'histories');

/** Which workflow type each recorded history belongs to: every workflow Kiln exports must have at least one. */
function workflowTypeOf(history: ReturnType<typeof historyFromJSON>): string | undefined {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
}

describe('recorded workflow histories replay against the current workflow code', function () {
  const files = fs
    .readdirSync(HISTORIES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();

  it('a history is kept for every workflow', async () => {
    const workflows = Object.keys(await import('../../workflows'));
    const covered = new Set(
      files.map((f) =>
        workflowTypeOf(historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, f), 'utf8')))),
      ),
    );
    for (const name of workflows) expect(covered, `no recorded history for ${name}`).to.include(name);
  });

  it('every history replays without nondeterminism', async function () {
    this.timeout(120_000);
    const workflowBundle = await bundleKilnWorkflows();
    const histories = files.map((file) => ({
      // The recorded runs were the default tenant's, whose ids have no '.': the file name without `.json` is such an
      // id (a '.' would read as a tenant prefix, which the full pipeline gives its children's ids).
      workflowId: path.basename(file, '.json'),
      history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8'))),
    }));
    expect(histories.length).to.be.greaterThan(0);
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).to.deep.equal([]);
  });

  it('a small job that an older worker ran as an activity (its input asks to run locally, no patch marker) replays', async function () {
    // A rolling upgrade: the new API asked for the local path, a worker without it scheduled the activity; the worker
    // replaying it now must take the activity path again (patched() is false without the marker).
    this.timeout(120_000);
    const json = JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, 'clustering-kmeans.json'), 'utf8'));
    const payload = json.events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
    const input = JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8'));
    expect(input.runLocally).to.equal(undefined);
    payload.data = Buffer.from(JSON.stringify({ ...input, runLocally: true })).toString('base64');
    const history = historyFromJSON(json);
    const types = (history.events ?? []).map((e) => e.eventType);
    expect(types).to.include(temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    await Worker.runReplayHistory({ workflowBundle: await bundleKilnWorkflows() }, history, 'upgraded-mid-run');
  });
});
