/** A product line's name as a merchant reads it: "Product — Variant", or the
 * product alone when it has no variants (or the variant was not recorded). */
export function productName(title: string, variantTitle: string): string {
  if (!title) return variantTitle;
  return variantTitle ? `${title} — ${variantTitle}` : title;
}
