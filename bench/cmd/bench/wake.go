package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// roundTripCost is the CPU, this process's and the scenario's redis-server's
// together, of one PING round trip: back to back, and spaced as webhooks at
// 50/s are. At a low rate every stage of the pipeline wakes idle processes
// for each batch, and that, not the work, is most of what a webhook costs
// there: the spaced figure is the floor each of those round trips pays.
type roundTripCost struct{ busy, spaced time.Duration }

func (r roundTripCost) String() string {
	return fmt.Sprintf("a Redis PING round trip costs %s of CPU (bench process and redis-server) back to back and %s "+
		"when 20 ms apart, as webhooks at 50/s are (%.0f×)", r.busy.Round(time.Microsecond), r.spaced.Round(time.Microsecond),
		float64(r.spaced)/float64(max(r.busy, 1)))
}

func measureRoundTrips(ctx context.Context, redisURL string, redisPID int) (roundTripCost, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return roundTripCost{}, err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	per := func(n int, gap time.Duration) (time.Duration, error) {
		self0, _ := processCPU(os.Getpid())
		rds0, _ := processCPU(redisPID)
		for range n {
			if err := rdb.Ping(ctx).Err(); err != nil {
				return 0, err
			}
			time.Sleep(gap)
		}
		self1, _ := processCPU(os.Getpid())
		rds1, _ := processCPU(redisPID)
		return time.Duration((self1 - self0 + rds1 - rds0) / float64(n) * float64(time.Second)), nil
	}
	var r roundTripCost
	if r.busy, err = per(5000, 0); err != nil {
		return r, err
	}
	r.spaced, err = per(250, 20*time.Millisecond)
	return r, err
}
