// Package privacy keeps personal data erasable in an append-only event
// store (crypto-shredding): the data keys of shops and customers, sealing
// and opening the personal fields of events with them, and the erasure
// that destroys keys and scrubs read models. See docs/privacy.md.
package privacy

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/internal/secrets"
)

// SubjectShop is the subject of a shop's own data key.
const SubjectShop = "shop"

// CustomerSubject is the subject of a Shopify customer's data key.
func CustomerSubject(customerID int64) string {
	return "customer:" + strconv.FormatInt(customerID, 10)
}

// ErrUnknownKey means sealed data names a key the key table does not hold.
var ErrUnknownKey = errors.New("privacy: unknown data key")

// KeyCacheTTL is how long a process trusts a cached data key. A key
// destroyed by another process stops opening here within this time; the
// process that destroys it forgets it at once.
const KeyCacheTTL = 10 * time.Second

// Keyring hands out data keys, one live key per (shop, subject), made on
// first use and stored wrapped with the master key.
type Keyring struct {
	pool   *pgxpool.Pool
	master *secrets.Key
	ttl    time.Duration
	now    func() time.Time

	mu   sync.Mutex
	byID map[uuid.UUID]cachedKey
	live map[liveName]uuid.UUID
}

type cachedKey struct {
	key   *secrets.Key // nil: destroyed
	shop  string
	until time.Time
}

type liveName struct{ shop, subject string }

// NewKeyring returns a keyring over the data_keys table.
func NewKeyring(pool *pgxpool.Pool, master *secrets.Key) *Keyring {
	return &Keyring{pool: pool, master: master, ttl: KeyCacheTTL, now: time.Now,
		byID: map[uuid.UUID]cachedKey{}, live: map[liveName]uuid.UUID{}}
}

// wrapContext binds a wrapped key to its row, so a wrapped key copied to
// another row does not open.
func wrapContext(id uuid.UUID) string { return "data_key:" + id.String() }

// liveKey is a subject's live key.
type liveKey struct {
	id  uuid.UUID
	key *secrets.Key
}

// liveKeys returns the live key of each name, making those that have none.
// Keys not cached are made in one statement, and those that existed are
// found in one more round trip.
func (k *Keyring) liveKeys(ctx context.Context, names []liveName) (map[liveName]liveKey, error) {
	now := k.now()
	out, missing := k.cached(names, now)
	if len(missing) == 0 {
		return out, nil
	}
	found, err := k.findOrCreate(ctx, missing)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, name := range missing {
		f := found[name]
		key, err := k.unwrap(f.id, f.wrapped)
		if err != nil {
			return nil, err
		}
		k.remember(f.id, name.shop, key, now)
		k.live[name] = f.id
		out[name] = liveKey{f.id, key}
	}
	return out, nil
}

// cached returns the live keys of names the cache holds, and the names it
// does not (once each).
func (k *Keyring) cached(names []liveName, now time.Time) (map[liveName]liveKey, []liveName) {
	out := make(map[liveName]liveKey, len(names))
	var missing []liveName
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, name := range names {
		if _, done := out[name]; done || slices.Contains(missing, name) {
			continue
		}
		id, ok := k.live[name]
		if c := k.byID[id]; ok && c.key != nil && now.Before(c.until) {
			out[name] = liveKey{id, c.key}
		} else {
			missing = append(missing, name)
		}
	}
	return out, missing
}

// stage returns the live key of each name: the cached ones, and for the
// others new keys, not stored (see stagedKeys).
func (k *Keyring) stage(names []liveName) (map[liveName]liveKey, *stagedKeys, error) {
	out, missing := k.cached(names, k.now())
	if len(missing) == 0 {
		return out, nil, nil
	}
	// In one order, so that batches storing the same subjects' keys wait for
	// each other in one direction and never deadlock.
	slices.SortFunc(missing, func(a, b liveName) int {
		return cmp.Or(strings.Compare(a.shop, b.shop), strings.Compare(a.subject, b.subject))
	})
	staged := &stagedKeys{k: k, made: map[uuid.UUID]stagedKey{}}
	for _, name := range missing {
		id, raw, wrapped, err := k.newKey()
		if err != nil {
			return nil, nil, err
		}
		key, err := secrets.NewKey(raw)
		if err != nil {
			return nil, nil, err
		}
		staged.ids, staged.shops, staged.subjects = append(staged.ids, id), append(staged.shops, name.shop), append(staged.subjects, name.subject)
		staged.wrapped = append(staged.wrapped, wrapped)
		staged.made[id] = stagedKey{name, key}
		out[name] = liveKey{id, key}
	}
	return out, staged, nil
}

// newKey makes a data key and wraps it for its row.
func (k *Keyring) newKey() (id uuid.UUID, raw, wrapped []byte, err error) {
	raw = make([]byte, secrets.KeySize)
	if _, err := rand.Read(raw); err != nil {
		return uuid.Nil, nil, nil, err
	}
	id = uuid.New()
	return id, raw, k.master.Seal(raw, wrapContext(id)), nil
}

// stagedKeys are keys a seal made and left for the group commit to store
// with the events sealed with them (eventstore.StagedKeys). They are cached
// only once stored: a key whose statement failed, or that lost to another
// process's for the same subject, must never seal another event.
type stagedKeys struct {
	k               *Keyring
	ids             []uuid.UUID
	shops, subjects []string
	wrapped         [][]byte
	made            map[uuid.UUID]stagedKey
	byEvent         []uuid.UUID
}

type stagedKey struct {
	name liveName
	key  *secrets.Key
}

func (s *stagedKeys) Needs(i int) uuid.UUID { return s.byEvent[i] }

func (s *stagedKeys) Insert(first int) (string, []any) {
	return insertKeysSQL(first, "id"), []any{s.ids, s.shops, s.subjects, s.wrapped}
}

func (s *stagedKeys) Stored(ids []uuid.UUID) {
	now := s.k.now()
	s.k.mu.Lock()
	defer s.k.mu.Unlock()
	for _, id := range ids {
		m := s.made[id]
		s.k.remember(id, m.name.shop, m.key, now)
		s.k.live[m.name] = id
	}
}

type wrappedKey struct {
	id      uuid.UUID
	wrapped []byte
}

// insertKeysSQL inserts a key, its parameters numbered from $first, for
// every name that has no live key and returns those it made. It reads no
// other key: a join here with the table was planned once, while the table
// was small, and then read every key on each call for as long as Postgres
// kept no fresh statistics of it.
func insertKeysSQL(first int, returning string) string {
	p := func(i int, typ string) string { return "$" + strconv.Itoa(first+i) + "::" + typ }
	return `INSERT INTO data_keys (id, shop, subject, wrapped_key)
SELECT * FROM unnest(` + p(0, "uuid[]") + `, ` + p(1, "text[]") + `, ` + p(2, "text[]") + `, ` + p(3, "bytea[]") + `)
    ON CONFLICT (shop, subject) WHERE destroyed_at IS NULL DO NOTHING
RETURNING ` + returning
}

// createSQL is insertKeysSQL as a statement of its own.
var createSQL = insertKeysSQL(1, "id, shop, subject, wrapped_key")

// findLiveSQL is a name's live key, found through the unique index.
const findLiveSQL = `SELECT id, wrapped_key FROM data_keys WHERE shop = $1 AND subject = $2 AND destroyed_at IS NULL`

// findOrCreate returns the live key of every name: those it makes, then, in
// one more round trip, those that were there (a conflicting first use in
// another process has committed by then: the insert waited for it).
func (k *Keyring) findOrCreate(ctx context.Context, names []liveName) (map[liveName]wrappedKey, error) {
	n := len(names)
	ids, shops, subjects, wrapped := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([][]byte, n)
	for i, name := range names {
		var err error
		if ids[i], _, wrapped[i], err = k.newKey(); err != nil {
			return nil, err
		}
		shops[i], subjects[i] = name.shop, name.subject
	}
	rows, err := k.pool.Query(ctx, createSQL, ids, shops, subjects, wrapped)
	if err != nil {
		return nil, fmt.Errorf("create data keys: %w", err)
	}
	out := make(map[liveName]wrappedKey, n)
	var (
		w    wrappedKey
		name liveName
	)
	_, err = pgx.ForEachRow(rows, []any{&w.id, &name.shop, &name.subject, &w.wrapped}, func() error {
		out[name] = w
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create data keys: %w", err)
	}
	if len(out) == n {
		return out, nil
	}
	batch := &pgx.Batch{}
	for _, name := range names {
		if _, made := out[name]; made {
			continue
		}
		batch.Queue(findLiveSQL, name.shop, name.subject).QueryRow(func(row pgx.Row) error {
			var f wrappedKey
			if err := row.Scan(&f.id, &f.wrapped); err != nil {
				return fmt.Errorf("data key %s %s: %w", name.shop, name.subject, err)
			}
			out[name] = f
			return nil
		})
	}
	if err := k.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, err
	}
	return out, nil
}

func (k *Keyring) unwrap(id uuid.UUID, wrapped []byte) (*secrets.Key, error) {
	raw, err := k.master.Open(wrapped, wrapContext(id))
	if err != nil {
		return nil, fmt.Errorf("data key %s: %w", id, err)
	}
	return secrets.NewKey(raw)
}

// remember caches a key; k.mu is held.
func (k *Keyring) remember(id uuid.UUID, shop string, key *secrets.Key, now time.Time) {
	if len(k.byID) > 100_000 { // bounded: a rebuild touches every customer once
		clear(k.byID)
		clear(k.live)
	}
	k.byID[id] = cachedKey{key: key, shop: shop, until: now.Add(k.ttl)}
}

// Keys returns the keys with the given ids, from the cache when fresh and
// otherwise in one query. A destroyed key maps to nil; an id the table does
// not hold is ErrUnknownKey.
func (k *Keyring) Keys(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*secrets.Key, error) {
	now := k.now()
	out := make(map[uuid.UUID]*secrets.Key, len(ids))
	var missing []uuid.UUID
	k.mu.Lock()
	for _, id := range ids {
		if c, ok := k.byID[id]; ok && now.Before(c.until) {
			out[id] = c.key
		} else if !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	k.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	return out, k.load(ctx, k.pool, `SELECT id, shop, wrapped_key FROM data_keys WHERE id = ANY($1)`, missing, out)
}

// LockedKeys returns the keys with the given ids as tx reads them, whatever
// the cache holds, and locks their rows until tx ends. A destruction waits
// for tx, so what tx writes from what these keys open commits before the key
// is destroyed, and so before the erasure scrubs the read models; a key
// destroyed before maps to nil. Rows are locked in id order, as destroy
// locks them, so the two never deadlock.
func (k *Keyring) LockedKeys(ctx context.Context, tx pgx.Tx, ids []uuid.UUID) (map[uuid.UUID]*secrets.Key, error) {
	out := make(map[uuid.UUID]*secrets.Key, len(ids))
	return out, k.load(ctx, tx, `SELECT id, shop, wrapped_key FROM data_keys WHERE id = ANY($1) ORDER BY id FOR SHARE`, ids, out)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// load reads the keys with the given ids with query into out and caches
// them. A live key the cache holds is not unwrapped again.
func (k *Keyring) load(ctx context.Context, q querier, query string, ids []uuid.UUID, out map[uuid.UUID]*secrets.Key) error {
	now := k.now()
	rows, err := q.Query(ctx, query, ids)
	if err != nil {
		return fmt.Errorf("load data keys: %w", err)
	}
	type row struct {
		id      uuid.UUID
		shop    string
		wrapped []byte
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.shop, &x.wrapped)
	})
	if err != nil {
		return fmt.Errorf("load data keys: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range found {
		var key *secrets.Key
		if r.wrapped != nil {
			if key = k.byID[r.id].key; key == nil {
				if key, err = k.unwrap(r.id, r.wrapped); err != nil {
					return err
				}
			}
		}
		k.remember(r.id, r.shop, key, now)
		out[r.id] = key
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return fmt.Errorf("%w: %s", ErrUnknownKey, id)
		}
	}
	return nil
}

// Destroy destroys the live keys of the given subjects of shop and reports
// how many it destroyed; no subjects destroys nothing. Whatever they sealed
// can never be opened again. Destroying again finds nothing to do.
func (k *Keyring) Destroy(ctx context.Context, shop string, subjects ...string) (int, error) {
	if len(subjects) == 0 {
		return 0, nil
	}
	return k.destroy(ctx, shop, `AND subject = ANY($2)`, subjects)
}

// DestroyShop destroys every live key of shop (its own and its customers')
// and reports how many it destroyed.
func (k *Keyring) DestroyShop(ctx context.Context, shop string) (int, error) {
	return k.destroy(ctx, shop, ``)
}

// destroy destroys the live keys of shop that match where. Two statements
// rather than one with an optional array filter: pgx sends a nil slice as
// NULL, and cardinality(NULL) = 0 is NULL, which matches no key.
func (k *Keyring) destroy(ctx context.Context, shop, where string, args ...any) (int, error) {
	rows, err := k.pool.Query(ctx, `UPDATE data_keys SET wrapped_key = NULL, destroyed_at = now()
		WHERE id IN (SELECT id FROM data_keys WHERE shop = $1 AND destroyed_at IS NULL `+where+` ORDER BY id FOR UPDATE)
		RETURNING id, subject`, append([]any{shop}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("destroy data keys: %w", err)
	}
	type row struct {
		ID      uuid.UUID
		Subject string
	}
	destroyed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return 0, fmt.Errorf("destroy data keys: %w", err)
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range destroyed {
		k.remember(d.ID, shop, nil, now)
		delete(k.live, liveName{shop, d.Subject})
	}
	return len(destroyed), nil
}

// Rotate re-wraps every live data key from the keyring's master key to next,
// in batches, and reports how many it re-wrapped. Events are not touched:
// they are sealed with the data keys, which stay the same. A key already
// wrapped with next is skipped, so an interrupted rotation can be run again.
// Processes must then be restarted with next as ORDERMILL_MASTER_KEY.
func (k *Keyring) Rotate(ctx context.Context, next *secrets.Key) (int, error) {
	const batch = 500
	var (
		after uuid.UUID
		n     int
	)
	for {
		var done bool
		err := pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, wrapped_key FROM data_keys
				WHERE destroyed_at IS NULL AND id > $1 ORDER BY id LIMIT $2 FOR UPDATE`, after, batch)
			if err != nil {
				return err
			}
			type row struct {
				ID      uuid.UUID
				Wrapped []byte
			}
			keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
			if err != nil {
				return err
			}
			done = len(keys) < batch
			for _, r := range keys {
				after = r.ID
				raw, err := k.master.Open(r.Wrapped, wrapContext(r.ID))
				if err != nil {
					if _, errNext := next.Open(r.Wrapped, wrapContext(r.ID)); errNext == nil {
						continue // re-wrapped by an earlier run
					}
					return fmt.Errorf("data key %s: %w", r.ID, err)
				}
				if _, err := tx.Exec(ctx, `UPDATE data_keys SET wrapped_key = $2, rewrapped_at = now() WHERE id = $1`,
					r.ID, next.Seal(raw, wrapContext(r.ID))); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("rotate master key: %w", err)
		}
		if done {
			return n, nil
		}
	}
}
