package projections

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// OrderCacheKey is the Redis key under which the API caches an order.
func OrderCacheKey(prefix string, id uuid.UUID) string { return prefix + "cache:order:" + id.String() }

// The API caches GET /orders/{id} in Redis; the orders projector marks an
// entry stale after each commit. It writes a tombstone holding the new
// version rather than deleting the key, because a reader that loaded the
// row just before the commit could otherwise put the old row back after the
// delete, to be served until its TTL ran out. A fill only lands on a key
// holding nothing, or an older version.

// tombstoneTTL only has to outlive a reader's read-then-fill.
const tombstoneTTL = time.Minute

// CachedOrder is a cache entry. It keeps the shop so a cached order is never
// shown to another shop, and the version for the ETag. A tombstone has no shop.
type CachedOrder struct {
	Shop    string
	Version int64
	Body    []byte
}

// Tombstone reports whether the entry only marks the version a fill must reach.
func (o CachedOrder) Tombstone() bool { return o.Shop == "" }

// Encode lays the entry out as "<shop>\n<version>\n<body>", so a hit sends
// the body as stored instead of parsing it out of a JSON envelope.
func (o CachedOrder) Encode() []byte {
	b := make([]byte, 0, len(o.Shop)+len(o.Body)+22)
	b = append(append(b, o.Shop...), '\n')
	b = append(strconv.AppendInt(b, o.Version, 10), '\n')
	return append(b, o.Body...)
}

// ErrBadCacheEntry is an entry this version cannot read.
var ErrBadCacheEntry = errors.New("malformed order cache entry")

// DecodeCachedOrder reads what Encode wrote.
func DecodeCachedOrder(b []byte) (CachedOrder, error) {
	shop, rest, ok := bytes.Cut(b, []byte{'\n'})
	version, body, ok2 := bytes.Cut(rest, []byte{'\n'})
	v, err := strconv.ParseInt(string(version), 10, 64)
	if !ok || !ok2 || err != nil {
		return CachedOrder{}, ErrBadCacheEntry
	}
	return CachedOrder{Shop: string(shop), Version: v, Body: body}, nil
}

// fillOrderCache sets KEYS[1] to ARGV[1] (version ARGV[2]) unless the key
// holds a newer version, or the same version as an entry (not a tombstone).
var fillOrderCache = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then
  local shop, v = string.match(cur, '^([^\n]*)\n(%d+)\n')
  v = tonumber(v)
  local new = tonumber(ARGV[2])
  if v and (v > new or (v == new and shop ~= '')) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`)

// FillOrderCache stores entry unless the key already holds it or a newer
// version (a tombstone the projector wrote after the row was read).
func FillOrderCache(ctx context.Context, rdb redis.Scripter, key string, entry CachedOrder, ttl time.Duration) error {
	return fillOrderCache.Run(ctx, rdb, []string{key}, entry.Encode(), entry.Version, ttl.Milliseconds()).Err()
}

// holdOff implements cacheHolder for orders_view: once the erasure commits,
// it holds off the cached copies of the orders it scrubs.
func (p *Orders) holdOff(ctx context.Context, tx pgx.Tx, pd PersonalData, where string, args pgx.NamedArgs) (func(context.Context) error, error) {
	if p.cache == nil || pd.Table != "orders_view" {
		return nil, nil
	}
	type row struct {
		ID      uuid.UUID
		Version int64
	}
	rows, err := tx.Query(ctx, `SELECT id, version FROM orders_view WHERE `+where, args)
	if err != nil {
		return nil, err
	}
	scrubbed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		// One key per call: keys of a Redis Cluster live in different slots.
		for _, o := range scrubbed {
			if err := holdOffOrderCache(ctx, p.cache, p.prefix, o.ID, o.Version); err != nil {
				return fmt.Errorf("forget cached order: %w", err)
			}
		}
		return nil
	}, nil
}

// holdOffOrderCache drops the cached order id (read-model row version
// version) and keeps fills of that version out for a while. An erasure
// scrubs rows without changing their version, so a reader that loaded a row
// before the scrub would otherwise put it back after a plain delete.
func holdOffOrderCache(ctx context.Context, rdb redis.Scripter, prefix string, id uuid.UUID, version int64) error {
	return staleOrderCache(ctx, rdb, OrderCacheKey(prefix, id), version+1)
}

// staleOrderCache marks key stale up to version, unless a newer version is
// there. It sends the script itself (EVAL) so that it works in a pipeline.
func staleOrderCache(ctx context.Context, rdb redis.Scripter, key string, version int64) error {
	return fillOrderCache.Eval(ctx, rdb, []string{key}, CachedOrder{Version: version}.Encode(), version, tombstoneTTL.Milliseconds()).Err()
}
