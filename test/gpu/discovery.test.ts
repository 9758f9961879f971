import { expect } from 'chai';
import {
  CommandRunner,
  DiscoveredDevice,
  NVIDIA_SMI_ARGS,
  SkippedRow,
  discoverDevices,
  parseNvidiaSmiCsv,
} from '../../gpu/discovery';

// Lines as `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu
// --format=csv,noheader,nounits` prints them on these cards.
const H100 = '0, GPU-5b2e9d1a-3c4f-8e7d-1a2b-3c4d5e6f7a8b, NVIDIA H100 80GB HBM3, 81559, 0, 0, 31';
const H200 = '1, GPU-1f0c8a7e-9d2b-4c3a-8e5f-6a7b8c9d0e1f, NVIDIA H200, 143771, 1, 0, 29';
const A100 = '2, GPU-8d7c6b5a-4e3f-2a1b-0c9d-8e7f6a5b4c3d, NVIDIA A100-SXM4-40GB, 40960, 2345, 87, 64';
const T4 = '0, GPU-2a3b4c5d-6e7f-8a9b-0c1d-2e3f4a5b6c7d, Tesla T4, 15360, 0, 0, [N/A]';
const RTX4090 = '0, GPU-9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4, NVIDIA GeForce RTX 4090, 24564, 1290, 12, 45';

function runner(
  result: { code: number; stdout: string; stderr?: string },
  calls: Array<[string, string[]]> = [],
): CommandRunner {
  return async (cmd, args) => {
    calls.push([cmd, args]);
    return { stderr: '', ...result };
  };
}

describe('nvidia-smi discovery', () => {
  it('parses realistic rows for H100, H200, A100, T4 and RTX 4090', () => {
    const devices = parseNvidiaSmiCsv([H100, H200, A100].join('\n') + '\n');
    expect(devices).to.deep.equal([
      {
        index: 0,
        uuid: 'GPU-5b2e9d1a-3c4f-8e7d-1a2b-3c4d5e6f7a8b',
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalMb: 81559,
        memoryUsedMb: 0,
        utilizationPct: 0,
        temperatureC: 31,
        gpuClass: 'h100',
        source: 'nvidia-smi',
      },
      {
        index: 1,
        uuid: 'GPU-1f0c8a7e-9d2b-4c3a-8e5f-6a7b8c9d0e1f',
        name: 'NVIDIA H200',
        memoryTotalMb: 143771,
        memoryUsedMb: 1,
        utilizationPct: 0,
        temperatureC: 29,
        gpuClass: 'h200',
        source: 'nvidia-smi',
      },
      {
        index: 2,
        uuid: 'GPU-8d7c6b5a-4e3f-2a1b-0c9d-8e7f6a5b4c3d',
        name: 'NVIDIA A100-SXM4-40GB',
        memoryTotalMb: 40960,
        memoryUsedMb: 2345,
        utilizationPct: 87,
        temperatureC: 64,
        gpuClass: 'a100',
        source: 'nvidia-smi',
      },
    ] satisfies DiscoveredDevice[]);
    const [t4] = parseNvidiaSmiCsv(T4);
    expect(t4).to.deep.equal({
      index: 0,
      uuid: 'GPU-2a3b4c5d-6e7f-8a9b-0c1d-2e3f4a5b6c7d',
      name: 'Tesla T4',
      memoryTotalMb: 15360,
      memoryUsedMb: 0,
      utilizationPct: 0,
      gpuClass: 't4',
      source: 'nvidia-smi',
    });
    expect(t4).to.not.have.property('temperatureC');
    const [rtx] = parseNvidiaSmiCsv(RTX4090);
    expect(rtx).to.include({
      name: 'NVIDIA GeForce RTX 4090',
      memoryTotalMb: 24564,
      memoryUsedMb: 1290,
      utilizationPct: 12,
      temperatureC: 45,
      gpuClass: 'rtx4090',
    });
  });

  it('tolerates CRLF, padding, blank lines, a header, units and [Not Supported]', () => {
    const text = [
      'index, uuid, name, memory.total [MiB], memory.used [MiB], utilization.gpu [%], temperature.gpu',
      '',
      '  0 ,GPU-aaaa ,  NVIDIA L4  ,  23034 MiB , [N/A] , [Not Supported] ,  N/A  ',
      '1, GPU-bbbb, NVIDIA H100 80GB HBM3, 81559 MiB, 10 MiB, 3 %, 40',
      '',
    ].join('\r\n');
    const devices = parseNvidiaSmiCsv(text);
    expect(devices).to.deep.equal([
      { index: 0, uuid: 'GPU-aaaa', name: 'NVIDIA L4', memoryTotalMb: 23034, gpuClass: 'l4', source: 'nvidia-smi' },
      {
        index: 1,
        uuid: 'GPU-bbbb',
        name: 'NVIDIA H100 80GB HBM3',
        memoryTotalMb: 81559,
        memoryUsedMb: 10,
        utilizationPct: 3,
        temperatureC: 40,
        gpuClass: 'h100',
        source: 'nvidia-smi',
      },
    ]);
  });

  it('keeps a name with commas and skips malformed rows with a reason', () => {
    const skipped: SkippedRow[] = [];
    const devices = parseNvidiaSmiCsv(
      [
        '0, GPU-x, Odd, Card, 1000, 1, 2, 3',
        '1, GPU-y, NVIDIA H200',
        'x, GPU-z, NVIDIA H200, 143771, 0, 0, 30',
        '3, GPU-w, Tesla T4, [N/A], 0, 0, 30',
      ].join('\n'),
      (row) => skipped.push(row),
    );
    expect(devices.map((d) => [d.index, d.name, d.gpuClass])).to.deep.equal([[0, 'Odd, Card', 'odd-card']]);
    expect(skipped.map((s) => s.line)).to.deep.equal([2, 3, 4]);
    expect(skipped[0].reason).to.match(/expected 7 fields/);
    expect(skipped[1].reason).to.match(/index/);
    expect(skipped[2].reason).to.match(/memory\.total/);
  });

  it('runs nvidia-smi with the documented query and returns the parsed devices', async () => {
    const calls: Array<[string, string[]]> = [];
    const devices = await discoverDevices(runner({ code: 0, stdout: `${H100}\n${H200}\n` }, calls));
    expect(calls).to.deep.equal([
      [
        'nvidia-smi',
        [
          '--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu',
          '--format=csv,noheader,nounits',
        ],
      ],
    ]);
    expect(NVIDIA_SMI_ARGS).to.deep.equal(calls[0][1]);
    expect(devices.map((d) => d.gpuClass)).to.deep.equal(['h100', 'h200']);
  });

  it('reports no GPUs, silently, when nvidia-smi is missing', async () => {
    const logs: string[] = [];
    const missing: CommandRunner = async () => {
      throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
    };
    expect(await discoverDevices(missing, { log: (m) => logs.push(m) })).to.deep.equal([]);
    expect(await discoverDevices(runner({ code: 127, stdout: '' }), { log: (m) => logs.push(m) })).to.deep.equal([]);
    expect(logs).to.deep.equal([]);
  });

  it('reports no GPUs and logs why when nvidia-smi fails', async () => {
    const logs: string[] = [];
    const stderr =
      "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n";
    expect(await discoverDevices(runner({ code: 9, stdout: '', stderr }), { log: (m) => logs.push(m) })).to.deep.equal(
      [],
    );
    expect(logs).to.have.length(1);
    expect(logs[0])
      .to.match(/exited with code 9/)
      .and.to.match(/couldn't communicate with the NVIDIA driver/);

    const broken: CommandRunner = async () => {
      throw new Error('EACCES');
    };
    expect(await discoverDevices(broken, { log: (m) => logs.push(m) })).to.deep.equal([]);
    expect(logs[1]).to.match(/could not run nvidia-smi: EACCES/);
  });

  it('on this machine, with the real runner, returns a list without throwing', async () => {
    const devices = await discoverDevices(undefined, { log: () => undefined });
    expect(devices).to.be.an('array');
    for (const d of devices) expect(d.source).to.equal('nvidia-smi');
  });
});
