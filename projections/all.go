package projections

import "github.com/redis/go-redis/v9"

// All returns every read model's projector, in the order they are listed in
// the docs. The projectors role runs all of them; cache and prefix locate the
// API's Redis cache, which projectors invalidate (cache may be nil).
func All(cache redis.Cmdable, prefix string) []Projector {
	return []Projector{NewOrders(cache, prefix), NewInventory(), NewWebhooks(),
		NewFulfillments(), NewEmails(), NewReports(), NewLocations()}
}
