import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommandRunner } from '../../gpu/discovery';
import {
  DeclaredInventoryError,
  loadDevices,
  parseDeclaredInventory,
  readDeclaredInventory,
} from '../../gpu/declared-inventory';

const H100_LINE = '0, GPU-5b2e9d1a-3c4f-8e7d-1a2b-3c4d5e6f7a8b, NVIDIA H100 80GB HBM3, 81559, 0, 0, 31';

describe('declared GPU inventory', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-gpus-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('is absent when KILN_DECLARED_GPUS is unset or blank', () => {
    expect(readDeclaredInventory(undefined)).to.equal(undefined);
    expect(readDeclaredInventory('  ')).to.equal(undefined);
    expect(readDeclaredInventory('[]')).to.deep.equal([]);
  });

  it('reads inline JSON, generating index and uuid deterministically', () => {
    const declared = JSON.stringify([
      { name: 'NVIDIA H100 80GB HBM3', memoryTotalMb: 8192 },
      { name: 'Tesla T4', memoryTotalMb: 4096, memoryUsedMb: 100 },
    ]);
    expect(readDeclaredInventory(declared)).to.deep.equal([
      {
        index: 0,
        uuid: 'declared-0',
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalMb: 8192,
        gpuClass: 'h100',
        source: 'declared',
      },
      {
        index: 1,
        uuid: 'declared-1',
        name: 'Tesla T4',
        memoryTotalMb: 4096,
        memoryUsedMb: 100,
        gpuClass: 't4',
        source: 'declared',
      },
    ]);
    const explicit = parseDeclaredInventory([
      { name: 'NVIDIA L4', memoryTotalMb: 1024, index: 3, uuid: 'my-l4', gpuClass: 'l4-small' },
    ]);
    expect(explicit).to.deep.equal([
      { index: 3, uuid: 'my-l4', name: 'NVIDIA L4', memoryTotalMb: 1024, gpuClass: 'l4-small', source: 'declared' },
    ]);
  });

  it('reads @/path/to/file.json', () => {
    const file = path.join(root, 'gpus.json');
    fs.writeFileSync(file, JSON.stringify([{ name: 'NVIDIA H200', memoryTotalMb: 16384 }]));
    expect(readDeclaredInventory(`@${file}`)).to.deep.equal([
      { index: 0, uuid: 'declared-0', name: 'NVIDIA H200', memoryTotalMb: 16384, gpuClass: 'h200', source: 'declared' },
    ]);
    expect(() => readDeclaredInventory(`@${path.join(root, 'missing.json')}`)).to.throw(
      DeclaredInventoryError,
      /KILN_DECLARED_GPUS \(.*missing\.json\): cannot read/,
    );
  });

  it('rejects malformed declarations naming the env var and the entry', () => {
    const read = (value: string) => () => readDeclaredInventory(value);
    expect(read('{nope')).to.throw(DeclaredInventoryError, /^KILN_DECLARED_GPUS: is not valid JSON/);
    expect(read('{"name":"x"}')).to.throw(/^KILN_DECLARED_GPUS: expected a JSON array/);
    expect(read('[{"name":"NVIDIA H100","memoryTotalMb":8192},{"name":"Tesla T4"}]')).to.throw(
      /^KILN_DECLARED_GPUS\[1\]: memoryTotalMb must be a positive integer/,
    );
    expect(read('[{"memoryTotalMb":8192}]')).to.throw(/^KILN_DECLARED_GPUS\[0\]: name must be a non-empty string/);
    expect(read('[{"name":"T4","memoryTotalMb":-1}]')).to.throw(/KILN_DECLARED_GPUS\[0\]: memoryTotalMb/);
    expect(read('[{"name":"T4","memoryTotalMb":1024,"memoryTotalMB":1}]')).to.throw(
      /KILN_DECLARED_GPUS\[0\]: unknown field\(s\) memoryTotalMB/,
    );
    expect(read('[{"name":"T4","memoryTotalMb":1024,"memoryUsedMb":2048}]')).to.throw(
      /KILN_DECLARED_GPUS\[0\]: memoryUsedMb/,
    );
    expect(read('[{"name":"T4","memoryTotalMb":1024},{"name":"T4","memoryTotalMb":1024,"index":0}]')).to.throw(
      /KILN_DECLARED_GPUS\[1\]: index 0 is already used by KILN_DECLARED_GPUS\[0\]/,
    );
    expect(read('["T4"]')).to.throw(/KILN_DECLARED_GPUS\[0\]: expected an object/);
  });

  it('loadDevices prefers the declaration and never runs nvidia-smi then', async () => {
    let ran = 0;
    const run: CommandRunner = async () => {
      ran++;
      return { code: 0, stdout: H100_LINE, stderr: '' };
    };
    const declared = await loadDevices({
      declared: '[{"name":"NVIDIA H100 80GB HBM3","memoryTotalMb":8192}]',
      run,
    });
    expect(declared.map((d) => [d.source, d.memoryTotalMb, d.uuid])).to.deep.equal([['declared', 8192, 'declared-0']]);
    expect(ran).to.equal(0);
    const discovered = await loadDevices({ run });
    expect(discovered.map((d) => [d.source, d.memoryTotalMb, d.gpuClass])).to.deep.equal([
      ['nvidia-smi', 81559, 'h100'],
    ]);
    expect(ran).to.equal(1);
  });

  it('loadDevices takes the declaration the configuration checked, deriving each class from its name', async () => {
    let ran = 0;
    const run: CommandRunner = async () => {
      ran++;
      return { code: 0, stdout: H100_LINE, stderr: '' };
    };
    const devices = await loadDevices({
      declared: [
        { index: 0, uuid: 'declared-0', name: 'NVIDIA H100 80GB HBM3', memoryTotalMb: 8192 },
        { index: 2, uuid: 'mine', name: 'Tesla T4', memoryTotalMb: 4096, gpuClass: 't4-small', memoryUsedMb: 10 },
      ],
      run,
    });
    expect(devices).to.deep.equal([
      {
        index: 0,
        uuid: 'declared-0',
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalMb: 8192,
        gpuClass: 'h100',
        source: 'declared',
      },
      {
        index: 2,
        uuid: 'mine',
        name: 'Tesla T4',
        memoryTotalMb: 4096,
        memoryUsedMb: 10,
        gpuClass: 't4-small',
        source: 'declared',
      },
    ]);
    expect(await loadDevices({ declared: [], run })).to.deep.equal([]);
    expect(ran).to.equal(0);
  });

  it('reports every problem of a declaration, each with its place', () => {
    expect(() =>
      readDeclaredInventory(
        '[{"name":"T4","memoryTotalMb":1024,"uuid":"x"},{"name":"L4","memoryTotalMb":1024,"uuid":"x","index":0}]',
      ),
    ).to.throw(
      DeclaredInventoryError,
      /^KILN_DECLARED_GPUS\[1\]: index 0 is already used by KILN_DECLARED_GPUS\[0\]; KILN_DECLARED_GPUS\[1\]: uuid "x" is already used by KILN_DECLARED_GPUS\[0\]$/,
    );
    expect(() =>
      readDeclaredInventory('[{"name":"T4","memoryTotalMb":1024,"utilizationPct":101,"temperatureC":-1}]'),
    ).to.throw(
      /^KILN_DECLARED_GPUS\[0\]: utilizationPct must be a number in \[0, 100\], got 101; KILN_DECLARED_GPUS\[0\]: temperatureC must be a non-negative number/,
    );
  });

  it('loadDevices reports no GPUs without a declaration or nvidia-smi', async () => {
    const missing: CommandRunner = async () => {
      throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
    };
    expect(await loadDevices({ run: missing })).to.deep.equal([]);
  });
});
