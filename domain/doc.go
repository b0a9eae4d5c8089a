// Package domain is Ordermill's model: the aggregates (orders, inventory,
// shops, users, API tokens, emails, reports), the commands they decide on and
// the events they evolve by, and the rule by which a Shopify order converges
// to Shopify's snapshots. It does no I/O: no SQL, HTTP or Redis, and no clock
// or randomness it is not handed.
package domain
