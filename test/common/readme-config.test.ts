import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ENV_NAMES, parseEnv } from '../../common/config';
import { repoRoot } from '../../common/paths';

/** The rows of README's "## Configuration" table: the variables each names (first column) and its default cell. */
function readmeRows(): Array<{ names: string[]; defaultCell: string }> {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error('README.md has no "## Configuration" section');
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [nameCell, defaultCell] = line.split(' | ');
      const names = [...nameCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]);
      return { names, defaultCell: defaultCell ?? '' };
    });
}

describe('README "Configuration" table', () => {
  const rows = readmeRows();
  const documented = rows.flatMap((row) => row.names);

  it('documents every variable of the schema', () => {
    expect(ENV_NAMES.filter((name) => !documented.includes(name))).to.deep.equal([]);
  });

  it('documents no variable the schema does not know', () => {
    expect(documented.filter((name) => !(ENV_NAMES as string[]).includes(name))).to.deep.equal([]);
    expect(new Set(documented).size, 'a variable documented twice').to.equal(documented.length);
  });

  it("states each schema default in the variable's row", () => {
    const defaults = parseEnv({});
    for (const name of ENV_NAMES) {
      const value = defaults[name];
      if (value === undefined) continue;
      const row = rows.find((r) => r.names.includes(name))!;
      expect(row.defaultCell, `${name}'s default`).to.contain(`\`${String(value)}\``);
    }
  });
});
