package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// BenchmarkMinPositionWaiters measures what reads waiting on X-Min-Position
// cost Postgres: the test database's commits per second
// (pg_stat_database.xact_commit, which counts read-only transactions too)
// while the platform (api, relay, projectors) idles; while 40 clients each
// list orders every 2 s (the reads' own cost); and while 40 clients each keep
// a list read waiting for a position no projector reaches, so that every read
// waits its full 2 s and answers stale: the same reads, plus the waiting.
// The last two phases repeat both kinds of reads while orders are placed 20
// times a second, so that projectors announce progress all the time.
// Run it alone:
//
//	go test -run '^$' -bench MinPositionWaiters -benchtime 1x ./api
func BenchmarkMinPositionWaiters(b *testing.B) {
	const (
		readers = 40
		// Postgres may hold an idle backend's counts for 10 s: each phase
		// starts after a pause, so that none is charged with the last one's.
		settle = 12 * time.Second
		window = 20 * time.Second
	)
	e := apitest.New(b)
	owner := e.UserToken(b, "waiters.myshopify.com", domain.RoleOwner)
	u, err := url.Parse(e.Config.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	database := u.Path[1:]
	// Counted from another database, so the counting is not counted.
	u.Path = "/postgres"
	admin, err := pgx.Connect(context.Background(), u.String())
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(context.Background())
	commitsPerSecond := func() float64 {
		read := func() (n int64) {
			if err := admin.QueryRow(context.Background(),
				`SELECT xact_commit FROM pg_stat_database WHERE datname = $1`, database).Scan(&n); err != nil {
				b.Fatal(err)
			}
			return n
		}
		before, start := read(), time.Now()
		time.Sleep(window)
		return float64(read()-before) / time.Since(start).Seconds()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: readers}}
	// read lists orders until stop, with a position that is never reached
	// (the read waits 2 s), or without one after sleeping as long.
	read := func(stop <-chan struct{}, waits bool) {
		for {
			if !waits {
				time.Sleep(2 * time.Second)
			}
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/orders", nil)
			req.Header.Set("Authorization", "Bearer "+owner)
			if waits {
				req.Header.Set("X-Min-Position", "999999999.999999999")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || (resp.Header.Get("X-Consistency") == "stale") != waits {
				b.Errorf("read: %d, X-Consistency %q", resp.StatusCode, resp.Header.Get("X-Consistency"))
				return
			}
		}
	}
	// write places an order every 50 ms until stop: a steady stream of
	// projector work, and of progress notifications.
	write := func(stop <-chan struct{}) {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			body := `{"email":"buyer@example.com","customer_name":"Ada","currency":"EUR",` +
				`"lines":[{"sku":"SKU-1","title":"Mug","quantity":1,"unit_price":1250}]}`
			req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v1/orders", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+owner)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "bench-"+strconv.Itoa(i)+"-"+strconv.FormatInt(time.Now().UnixNano(), 10))
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("place order: %d", resp.StatusCode)
				return
			}
		}
	}
	// with measures the commit rate while 40 clients read (waiting or not),
	// with or without orders being placed.
	with := func(waits, writes bool) float64 {
		time.Sleep(settle)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range readers {
			wg.Go(func() { read(stop, waits) })
		}
		if writes {
			wg.Go(func() { write(stop) })
		}
		time.Sleep(time.Second) // every reader is waiting
		rate := commitsPerSecond()
		close(stop)
		wg.Wait()
		return rate
	}

	var idle, reads, waiting, busyReads, busyWaiting float64
	for range b.N {
		time.Sleep(settle)
		idle += commitsPerSecond()
		reads += with(false, false)
		waiting += with(true, false)
		busyReads += with(false, true)
		busyWaiting += with(true, true)
	}
	n := float64(b.N)
	b.ReportMetric(idle/n, "idle_commits/s")
	b.ReportMetric(reads/n, "reads_commits/s")
	b.ReportMetric(waiting/n, "waiting_commits/s")
	b.ReportMetric(busyReads/n, "busy_reads_commits/s")
	b.ReportMetric(busyWaiting/n, "busy_waiting_commits/s")
	b.ReportMetric(waiting/idle, "waiting/idle")
	b.ReportMetric(waiting/reads, "waiting/reads")
	b.ReportMetric(busyWaiting/busyReads, "busy_waiting/busy_reads")
}
