package workers

import "context"

// Query runs one GraphQL document for a shop with the client's retries and
// throttling, decoding its data into out (shopify.AdminAPI).
func (c *ShopifyClient) Query(ctx context.Context, shop, token, operation, document string, vars map[string]any, out any) error {
	return c.query(ctx, shop, token, operation, document, vars, out)
}
