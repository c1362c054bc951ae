import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isInDataDir, packFiles, packReturnedFiles, SHIPPED_MAX_BYTES, unpackFiles } from '../../activities/stages/shipping.js';
import { tempHome } from '../support/workers.js';

function write(home: string, rel: string, text: string): string {
  const p = join(home, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** Random base64 text: gzip shrinks it to about 3/4 of its size at best, so twice the limit stays over it. */
const incompressible = (n: number) => randomBytes(n).toString('base64');

describe('stage files shipped between data dirs', () => {
  it('carries files to the same relative paths on another data dir, byte for byte', () => {
    const owner = tempHome();
    const gpu = tempHome();
    const a = write(owner, 'runs/r/stages/math/variants/tuned/train.jsonl', '{"messages":[]}\n'.repeat(500));
    const b = write(owner, 'runs/r/stages/math/variants/tuned/ünïcode.jsonl', '{"x":"√ 2 ≈ 1.414"}\n');
    const bundle = packFiles(owner, [a, b], 'owner-id');
    expect(bundle.byteLength).toBeLessThan(readFileSync(a).byteLength / 10); // gzip'd
    const written = unpackFiles(gpu, bundle, 'gpu-id');
    expect(written).toEqual([join(gpu, 'runs/r/stages/math/variants/tuned/train.jsonl'), join(gpu, 'runs/r/stages/math/variants/tuned/ünïcode.jsonl')]);
    expect(readFileSync(written[0]!, 'utf8')).toBe(readFileSync(a, 'utf8'));
    expect(readFileSync(written[1]!, 'utf8')).toBe('{"x":"√ 2 ≈ 1.414"}\n');
  });

  it('leaves a file with the same content untouched (the owner unpacking its own files), and replaces one that differs', () => {
    const home = tempHome();
    const p = write(home, 'runs/r/a.jsonl', 'same\n');
    const bundle = packFiles(home, [p], 'me');
    const before = statSync(p).mtimeMs;
    utimesSync(p, new Date(0), new Date(0));
    unpackFiles(home, bundle, 'me');
    expect(statSync(p).mtimeMs).toBe(0);
    expect(before).not.toBe(0);
    writeFileSync(p, 'stale\n');
    unpackFiles(home, bundle, 'me');
    expect(readFileSync(p, 'utf8')).toBe('same\n');
  });

  it('does not ship what a payload cannot carry: only a worker on the owner data dir may use those files, any other fails saying why', () => {
    const owner = tempHome();
    const big = write(owner, 'runs/r/big.jsonl', incompressible(SHIPPED_MAX_BYTES * 2));
    const bundle = packFiles(owner, [big], 'owner-id');
    expect(bundle.byteLength).toBeLessThan(1000);
    expect(unpackFiles(owner, bundle, 'owner-id')).toEqual([]);
    const other = tempHome();
    expect(() => unpackFiles(other, bundle, 'other-id')).toThrow(/over the 1\.90 MB a Temporal payload carries: serve nanoflux-train from a worker on the run's data dir/);
    expect(existsSync(join(other, 'runs/r/big.jsonl'))).toBe(false);
  });

  it('sends results back as base64, and refuses a batch too large to send back, saying what to lower', () => {
    const gpu = tempHome();
    const p = write(gpu, 'runs/r/predictions/batch-000.jsonl', '{"id":"1","prediction":"4"}\n');
    const back = packReturnedFiles(gpu, [p], 'the predictions of tuned on batch 0');
    const owner = tempHome();
    unpackFiles(owner, back);
    expect(readFileSync(join(owner, 'runs/r/predictions/batch-000.jsonl'), 'utf8')).toBe('{"id":"1","prediction":"4"}\n');
    const big = write(gpu, 'runs/r/predictions/batch-001.jsonl', incompressible(SHIPPED_MAX_BYTES));
    expect(() => packReturnedFiles(gpu, [big], 'the predictions of tuned on batch 1')).toThrow(/the predictions of tuned on batch 1 is [\d.]+ MB compressed[^:]*: lower evaluate.batchSize/);
  });

  it('never writes outside the data dir, whatever a bundle names', () => {
    const home = tempHome();
    for (const rel of ['../escape.jsonl', '/etc/passwd-x', 'runs/../../escape.jsonl']) {
      const hostile = gzipSync(JSON.stringify({ files: { [rel]: 'x' } }));
      expect(() => unpackFiles(home, hostile), rel).toThrow(/outside the data dir/);
    }
    expect(() => packFiles(home, ['/tmp/elsewhere.jsonl'], 'me')).toThrow(/is not in the data dir/);
    expect(isInDataDir(home, join(home, 'runs', 'x'))).toBe(true);
    expect(isInDataDir(home, join(home, '..', 'x'))).toBe(false);
    expect(isInDataDir(home, join(home, '..x'))).toBe(true);
  });
});
