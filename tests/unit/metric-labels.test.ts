import { describe, expect, it } from 'vitest';
import { endpointLabel } from '../../activities/kit/metrics.js';

describe('an endpoint as a metric label (activities/kit/metrics.ts)', () => {
  it('is the host only: a path, a query or credentials in a base URL never become a label', () => {
    expect(endpointLabel('http://127.0.0.1:8080/v1')).toBe('127.0.0.1:8080');
    expect(endpointLabel('https://user:secret@proxy.example.com/openai/v1?key=abc')).toBe('proxy.example.com');
    expect(endpointLabel(undefined)).toBe('openai');
    expect(endpointLabel('http://x', 'local')).toBe('local');
    expect(endpointLabel('not a url')).toBe('invalid');
  });
});
