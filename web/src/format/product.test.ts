import { describe, expect, it } from 'vitest';
import { locationName, productName } from './product';

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

describe('locationName', () => {
  it('is the name Shopify gave the location', () => {
    expect(locationName({ location_id: 65094860801, name: 'Ottawa warehouse' })).toBe('Ottawa warehouse');
  });
  it('falls back to the id until a webhook names it', () => {
    expect(locationName({ location_id: 65094860801, name: '' })).toBe('Location 65094860801');
    expect(locationName({ location_id: 0, name: '' })).toBe('Not named (older sync)');
  });
});
