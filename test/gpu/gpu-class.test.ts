import { expect } from 'chai';
import { TASK_QUEUES } from '../../common/task-queues';
import {
  GPU_CLASS_MAX_LENGTH,
  gpuClassOf,
  gpuClassQueue,
  gpuClassSlug,
  gpuFitQueue,
  gpuQueues,
  isGpuClass,
} from '../../gpu/gpu-class';

describe('GPU classes', () => {
  it('maps the common nvidia-smi names to short classes', () => {
    expect(gpuClassOf('NVIDIA H100 80GB HBM3')).to.equal('h100');
    expect(gpuClassOf('NVIDIA H100 PCIe')).to.equal('h100');
    expect(gpuClassOf('NVIDIA H200')).to.equal('h200');
    expect(gpuClassOf('NVIDIA A100-SXM4-40GB')).to.equal('a100');
    expect(gpuClassOf('NVIDIA A100 80GB PCIe')).to.equal('a100');
    expect(gpuClassOf('Tesla T4')).to.equal('t4');
    expect(gpuClassOf('NVIDIA GeForce RTX 4090')).to.equal('rtx4090');
    expect(gpuClassOf('NVIDIA L4')).to.equal('l4');
    expect(gpuClassOf('NVIDIA L40S')).to.equal('l40s');
    expect(gpuClassOf('NVIDIA A10G')).to.equal('a10g');
    expect(gpuClassOf('Tesla V100-SXM2-16GB')).to.equal('v100');
    expect(gpuClassOf('NVIDIA RTX A6000')).to.equal('rtxa6000');
  });

  it('slugs unknown names to lowercase [a-z0-9-] of at most 32 characters', () => {
    expect(gpuClassOf('Quadro P2000')).to.equal('quadro-p2000');
    const long = gpuClassOf('Some Vendor Experimental Accelerator With A Very Long Name (rev 2)');
    expect(long.length).to.be.at.most(GPU_CLASS_MAX_LENGTH);
    expect(long).to.match(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(gpuClassSlug('  !!  ')).to.equal('unknown');
    expect(gpuClassSlug('A'.repeat(31) + ' B')).to.equal('a'.repeat(31));
    expect(isGpuClass(long)).to.equal(true);
  });

  it('gives a worker the shared GPU queue and its class queue', () => {
    expect(gpuQueues('h100')).to.deep.equal([TASK_QUEUES.gpu, 'kiln-gpu-h100']);
    expect(gpuQueues(gpuClassOf('Tesla T4'))).to.deep.equal(['kiln-gpu', 'kiln-gpu-t4']);
    expect(gpuQueues('a100', 16384)).to.deep.equal(['kiln-gpu', 'kiln-gpu-a100', 'kiln-gpu-a100-16384mb']);
    expect(gpuFitQueue('t4', 15360)).to.equal('kiln-gpu-t4-15360mb');
    expect(() => gpuFitQueue('t4', 0)).to.throw(RangeError);
    expect(() => gpuClassQueue('H100!')).to.throw(RangeError, /invalid GPU class/);
  });
});
