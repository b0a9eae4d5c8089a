package eventstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/testenv"
)

// keyCipher stands in for the privacy cipher: it "seals" an event
// {"subject": s} by adding the id of s's key, kept in test_keys, one per
// subject. Seal stores a key it makes at once; SealStaged leaves it staged.
type keyCipher struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	told []uuid.UUID // what Stored was told
}

func (c *keyCipher) Seal(ctx context.Context, events []eventstore.NewEvent) error {
	_, err := c.seal(events, func(subject string) (uuid.UUID, error) {
		_, err := c.pool.Exec(ctx, `INSERT INTO test_keys VALUES ($1, $2) ON CONFLICT DO NOTHING`, uuid.New(), subject)
		var id uuid.UUID
		if err == nil {
			err = c.pool.QueryRow(ctx, `SELECT id FROM test_keys WHERE subject = $1`, subject).Scan(&id)
		}
		return id, err
	})
	return err
}

func (c *keyCipher) SealStaged(_ context.Context, events []eventstore.NewEvent) (eventstore.StagedKeys, error) {
	s := &stagedTestKeys{c: c}
	s.needs, _ = c.seal(events, func(subject string) (uuid.UUID, error) {
		id := uuid.New()
		s.ids, s.subjects = append(s.ids, id), append(s.subjects, subject)
		return id, nil
	})
	if len(s.ids) == 0 {
		return nil, nil
	}
	return s, nil
}

// seal seals each event with the key keyOf gives its subject (once per
// subject) and returns each event's key.
func (c *keyCipher) seal(events []eventstore.NewEvent, keyOf func(string) (uuid.UUID, error)) ([]uuid.UUID, error) {
	made := map[string]uuid.UUID{}
	used := make([]uuid.UUID, len(events))
	for i := range events {
		var d struct {
			Subject string `json:"subject"`
		}
		if err := json.Unmarshal(events[i].Data, &d); err != nil {
			return nil, err
		}
		id, ok := made[d.Subject]
		if !ok {
			var err error
			if id, err = keyOf(d.Subject); err != nil {
				return nil, err
			}
			made[d.Subject] = id
		}
		used[i] = id
		events[i].Data = fmt.Appendf(nil, `{"key": %q, "subject": %q}`, id, d.Subject)
	}
	return used, nil
}

func (c *keyCipher) Open(context.Context, []eventstore.Event) error { return nil }

func (c *keyCipher) OpenLocked(context.Context, pgx.Tx, []eventstore.Event) error { return nil }

type stagedTestKeys struct {
	c        *keyCipher
	ids      []uuid.UUID
	subjects []string
	needs    []uuid.UUID
}

func (s *stagedTestKeys) Needs(i int) uuid.UUID { return s.needs[i] }

func (s *stagedTestKeys) Insert(first int) (string, []any) {
	return `INSERT INTO test_keys SELECT * FROM unnest($` + strconv.Itoa(first) + `::uuid[], $` + strconv.Itoa(first+1) + `::text[])
		ON CONFLICT DO NOTHING RETURNING id`, []any{s.ids, s.subjects}
}

func (s *stagedTestKeys) Stored(ids []uuid.UUID) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	s.c.told = append(s.c.told, ids...)
}

// The group commit stores a batch's staged keys in the statement that
// stores its events: an event is stored with its key or not at all. An
// event whose staged key lost to a key stored meanwhile is sealed again and
// appended alone, with the stored key; a failed statement stores no key.
// The cipher hears only of keys that committed.
func TestAppendGroupedStoresStagedKeysWithTheirEvents(t *testing.T) {
	ctx := context.Background()
	pool := testenv.Pool(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE test_keys (id uuid PRIMARY KEY, subject text UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	taken := uuid.New() // a key another process stored: its subject's staged keys lose
	if _, err := pool.Exec(ctx, `INSERT INTO test_keys VALUES ($1, 'taken')`, taken); err != nil {
		t.Fatal(err)
	}
	cipher := &keyCipher{pool: pool}
	store := eventstore.New(pool)
	store.SetCipher(cipher)
	if _, err := store.Append(ctx, "webhook-dup", eventstore.NoStream, subjectEvent("dup-first")); err != nil {
		t.Fatal(err)
	}
	var appends, fresh []*groupedAppend
	for i := range 40 {
		a := &groupedAppend{stream: fmt.Sprintf("webhook-k-%d", i), event: subjectEvent(fmt.Sprintf("s%d", i%20))}
		switch i {
		case 3, 4:
			a.event = subjectEvent("taken")
		case 5:
			a.stream = "webhook-dup" // a conflict, whose staged key may be stored all the same
		}
		appends = append(appends, a)
		if i != 5 {
			fresh = append(fresh, a)
		}
	}
	appendAllAtOnce(store, appends)
	// Apart, so that the statement it fails is not the one of every batch
	// above: how appends group into batches is up to timing.
	invalid := &groupedAppend{stream: "Not A Stream", event: subjectEvent("late")}
	late := &groupedAppend{stream: "webhook-k-late", event: subjectEvent("late")}
	appendAllAtOnce(store, []*groupedAppend{invalid, late})
	fresh = append(fresh, late)
	for _, a := range fresh {
		if a.err != nil {
			t.Errorf("%s: %v", a.stream, a.err)
		}
	}
	if !errors.Is(appends[5].err, eventstore.ErrConcurrency) || invalid.err == nil {
		t.Errorf("conflicting append: %v; invalid stream: %v", appends[5].err, invalid.err)
	}
	var stored, withKey, withTaken int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(k.id), count(*) FILTER (WHERE k.id = $1)
		FROM events e LEFT JOIN test_keys k ON k.id = (e.data ->> 'key')::uuid AND k.subject = e.data ->> 'subject'
		WHERE e.stream_id LIKE 'webhook-k-%'`, taken).Scan(&stored, &withKey, &withTaken); err != nil {
		t.Fatal(err)
	}
	if stored != len(fresh) || withKey != stored || withTaken != 2 {
		t.Errorf("%d events stored, %d with their subject's stored key, %d with the taken key; want %d, all, 2",
			stored, withKey, withTaken, len(fresh))
	}
	var keys int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM test_keys`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if want := 1 + 1 + 20 + 1; keys != want { // taken, dup-first, s0–s19, late
		t.Errorf("%d keys stored, want %d", keys, want)
	}
	var told []string
	for _, id := range cipher.told {
		told = append(told, id.String())
	}
	var notStored int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM unnest($1::uuid[]) t(id) WHERE id NOT IN (SELECT id FROM test_keys)`, told).Scan(&notStored); err != nil {
		t.Fatal(err)
	}
	if len(told) == 0 || notStored != 0 {
		t.Errorf("the cipher was told of %d stored keys, %d of them not stored", len(told), notStored)
	}
}

func subjectEvent(subject string) eventstore.NewEvent {
	return eventstore.NewEvent{Type: "t.sealed", Tenant: "shop.test", Data: json.RawMessage(fmt.Sprintf(`{"subject": %q}`, subject))}
}
