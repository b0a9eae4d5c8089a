import { describe, expect, it } from 'vitest';
import { productName } from './product';

describe('productName', () => {
  it('joins product and variant', () => {
    expect(productName('Merino Beanie', 'Charcoal')).toBe('Merino Beanie — Charcoal');
  });
  it('is the product alone without a variant', () => {
    expect(productName('Canvas Tote', '')).toBe('Canvas Tote');
  });
  it('is empty when nothing names the item', () => {
    expect(productName('', '')).toBe('');
  });
});
