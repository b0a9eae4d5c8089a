/** A product line's name as a merchant reads it: "Product — Variant", or the
 * product alone when it has no variants (or the variant was not recorded). */
export function productName(title: string, variantTitle: string): string {
  if (!title) return variantTitle;
  return variantTitle ? `${title} — ${variantTitle}` : title;
}

/** A Shopify location as a merchant knows it: its name, or its id until a
 * locations webhook names it (0: a level synced before locations were kept). */
export function locationName(l: { location_id: number; name: string }): string {
  if (l.name) return l.name;
  return l.location_id === 0 ? 'Not named (older sync)' : `Location ${l.location_id}`;
}
