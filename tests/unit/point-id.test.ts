import { describe, expect, it } from 'vitest';
import { collectionName, pointId } from '../../activities/store/vector/point-id.js';

const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('pointId', () => {
  it('is a deterministic UUID v5', () => {
    const a = pointId('run-1/math/7');
    expect(a).toMatch(UUID_V5);
    expect(pointId('run-1/math/7')).toBe(a);
  });

  it('differs for different keys', () => {
    const ids = new Set(['run-1/math/7', 'run-1/math/8', 'run-2/math/7', ''].map(pointId));
    expect(ids.size).toBe(4);
  });
});

describe('collectionName', () => {
  it('names kind, domain and embedder with safe characters only', () => {
    expect(collectionName('examples', 'math', 'local:use-lite')).toBe('nf_examples_math__local_use-lite');
    expect(collectionName('decontam', 'gsm8k', 'openai:text-embedding-3-small')).toBe(
      'nf_decontam_gsm8k__openai_text-embedding-3-small',
    );
    expect(collectionName('examples', 'Médecine / Biology', 'vllm:BAAI/bge-m3')).toMatch(/^[a-z0-9_-]+$/);
  });

  it('keeps models apart', () => {
    expect(collectionName('examples', 'math', 'a:x')).not.toBe(collectionName('examples', 'math', 'a:y'));
  });

  it('truncates long names with a hash, keeping them distinct', () => {
    const long = 'x'.repeat(200);
    const a = collectionName('examples', `${long}1`, 'local:use-lite');
    const b = collectionName('examples', `${long}2`, 'local:use-lite');
    expect(a.length).toBeLessThanOrEqual(64);
    expect(a).toMatch(/^[a-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(collectionName('examples', `${long}1`, 'local:use-lite')).toBe(a);
  });
});
