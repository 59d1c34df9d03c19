import { describe, expect, it } from 'vitest';
import { outputStyle } from './run-batch';

describe('the output style of the Nx run a batch belongs to', () => {
  const nx = ['/usr/bin/node', '/ws/node_modules/nx/bin/nx.js', 'run', 'db-reporting:deploy'];

  it('is the Nx command line`s --output-style, in any of its spellings, over NX_DEFAULT_OUTPUT_STYLE', () => {
    const env = { NX_DEFAULT_OUTPUT_STYLE: 'static-failures-only' };
    expect(outputStyle([...nx, '--output-style=static'], env)).toBe('static');
    expect(outputStyle([...nx, '--output-style', 'stream'], env)).toBe('stream');
    expect(outputStyle([...nx, '--outputStyle=summary'], env)).toBe('summary');
  });

  it('is NX_DEFAULT_OUTPUT_STYLE when the command line names none or cannot be read', () => {
    expect(outputStyle([...nx, '--env=dev'], { NX_DEFAULT_OUTPUT_STYLE: 'static' })).toBe('static');
    expect(outputStyle(null, { NX_DEFAULT_OUTPUT_STYLE: 'static' })).toBe('static');
    expect(outputStyle(nx, {})).toBeUndefined();
  });
});
