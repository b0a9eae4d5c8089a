-- An order line's variant ("Charcoal / L") beside its product title; lines
-- recorded before it was kept have none until a rebuild or Shopify's next
-- snapshot of their order.
ALTER TABLE order_lines_view ADD COLUMN variant_title text NOT NULL DEFAULT '';
