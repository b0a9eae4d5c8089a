package shopify

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// ThrottleStatus is the state of a shop's Admin API bucket as Shopify last
// reported it in extensions.cost.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// Bucket is every process's shared view of each shop's leaky bucket, so
// that together they spend no more than Shopify restores instead of each
// finding out through THROTTLED answers.
type Bucket interface {
	// Reserve takes cost points if the bucket holds them and returns 0, or
	// returns how long until it will, taking nothing.
	Reserve(ctx context.Context, shop string, cost float64) (time.Duration, error)
	// Observe ends a call that reserved points: the estimate becomes what
	// Shopify reported, less what other calls have reserved and not yet
	// settled (counted twice if Shopify has charged them already, which
	// errs on the side of waiting).
	Observe(ctx context.Context, shop string, s ThrottleStatus, reserved float64) error
}

// RedisBucket keeps the buckets in Redis, one hash per shop, updated by
// scripts so that concurrent processes see each other's reservations.
type RedisBucket struct {
	rdb    redis.UniversalClient
	prefix string
	// Until Shopify has reported a shop's bucket, assume the smallest plan's.
	defaults ThrottleStatus
	now      func() time.Time
}

// NewRedisBucket returns the shared buckets under prefix.
func NewRedisBucket(rdb redis.UniversalClient, prefix string) *RedisBucket {
	return &RedisBucket{rdb: rdb, prefix: prefix, now: time.Now,
		defaults: ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 1000, RestoreRate: 50}}
}

func (b *RedisBucket) key(shop string) string { return b.prefix + "shopify:bucket:" + shop }

// reserveScript refills the bucket for the time passed, then takes the cost
// or answers the milliseconds until it could. A cost above the bucket's size
// waits for a full bucket: Shopify would refuse it otherwise.
var reserveScript = redis.NewScript(`
local h = redis.call('HMGET', KEYS[1], 'avail', 'max', 'rate', 'ts')
local now = tonumber(ARGV[2])
local max = tonumber(h[2]) or tonumber(ARGV[3])
local rate = tonumber(h[3]) or tonumber(ARGV[4])
local avail = tonumber(h[1]) or max
local ts = tonumber(h[4]) or now
if now > ts then
  avail = math.min(max, avail + (now - ts) / 1000 * rate)
  ts = now
end
local cost = math.min(tonumber(ARGV[1]), max)
local inflight = tonumber(redis.call('HGET', KEYS[1], 'inflight')) or 0
local wait = 0
if avail >= cost then
  avail = avail - cost
  inflight = inflight + cost
else
  wait = math.ceil((cost - avail) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'avail', tostring(avail), 'max', tostring(max), 'rate', tostring(rate), 'ts', ts, 'inflight', tostring(inflight))
redis.call('PEXPIRE', KEYS[1], 3600000)
return wait
`)

// Reserve implements Bucket.
func (b *RedisBucket) Reserve(ctx context.Context, shop string, cost float64) (time.Duration, error) {
	d := b.defaults
	ms, err := reserveScript.Run(ctx, b.rdb, []string{b.key(shop)}, cost, b.now().UnixMilli(), d.MaximumAvailable, d.RestoreRate).Int64()
	if err != nil {
		return 0, err
	}
	return time.Duration(ms) * time.Millisecond, nil
}

var observeScript = redis.NewScript(`
local inflight = math.max(0, (tonumber(redis.call('HGET', KEYS[1], 'inflight')) or 0) - tonumber(ARGV[1]))
if tonumber(ARGV[4]) > 0 then
  redis.call('HSET', KEYS[1], 'avail', tostring(math.max(0, tonumber(ARGV[2]) - inflight)), 'max', ARGV[3], 'rate', ARGV[4], 'ts', ARGV[5])
end
redis.call('HSET', KEYS[1], 'inflight', tostring(inflight))
redis.call('PEXPIRE', KEYS[1], 3600000)
return 0
`)

// Observe implements Bucket. An answer without a cost extension (a 5xx,
// a timeout) only releases the reservation.
func (b *RedisBucket) Observe(ctx context.Context, shop string, s ThrottleStatus, reserved float64) error {
	return observeScript.Run(ctx, b.rdb, []string{b.key(shop)}, reserved, s.CurrentlyAvailable, s.MaximumAvailable, s.RestoreRate, b.now().UnixMilli()).Err()
}
