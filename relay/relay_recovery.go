package relay

// Redis Streams only buffer events between the relay and the consumers, and a
// Redis that keeps nothing on disk comes back from a restart empty: whatever
// was published but not yet processed is gone, and the consumer groups with
// it. The relay notices through a marker key it keeps in Redis. While the
// marker is there it records, now and then, a watermark in Postgres: a
// position before which every consumer group has acknowledged every event of
// every stream it reads. When the marker is gone it recreates the consumer
// groups, moves its checkpoint back to the watermark and republishes from
// there; consumers are idempotent, so what they already had changes nothing.
// The same survey of the consumer groups trims the streams to what some
// group still needs, so Redis does not keep every event ever published.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/redis/go-redis/v9"

	"github.com/ordermill/ordermill/eventstore"
)

// ConsumerGroup is a Redis consumer group that reads relayed events.
type ConsumerGroup struct {
	Name       string   // the group's name in Redis
	Categories []string // the stream categories it reads
	// Others are streams it also reads that the relay does not feed (a
	// worker's requeue stream): only the group is recreated on them.
	Others []string
}

// RedisRecovery lets the relay republish what Redis lost.
type RedisRecovery struct {
	Redis redis.UniversalClient
	// Groups are every consumer group of relayed events, whether or not its
	// process runs now: a group the relay does not know about is not waited for.
	Groups []ConsumerGroup
	// Check is how often the marker is checked (default 1s); the watermark
	// is recorded, and the streams trimmed, every fifth check.
	Check time.Duration
}

// CreateGroup makes consumer group on stream, reading from the stream's
// start, unless the group exists; it makes the stream too if need be.
func CreateGroup(ctx context.Context, rdb redis.UniversalClient, stream, group string) error {
	err := rdb.XGroupCreateMkStream(ctx, stream, group, "0").Err()
	if err != nil && strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil
	}
	return err
}

// errRedisLost stops the relay's publishing so it can rewind.
var errRedisLost = errors.New("redis lost its data")

// markerKey shares the streams' hash slot: on a cluster, the shard that
// loses the streams loses the marker with them.
func (r *Relay) markerKey() string { return StreamKey(r.prefix, "relay.marker") }

// redisLost reports whether Redis may have lost published events: the marker
// is gone (a restart without persistence), or it names another server than
// the one that holds it now. That is a replica promoted by a failover, which
// may lack the newest entries, as replication is asynchronous; a restart that
// kept its data also counts, and costs only a harmless republish.
func (r *Relay) redisLost(ctx context.Context) (bool, error) {
	rdb := r.recovery.Redis
	marker, err := rdb.Get(ctx, r.markerKey()).Result()
	if errors.Is(err, redis.Nil) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	id, err := serverID(ctx, rdb, r.markerKey())
	return err == nil && marker != id, err
}

// serverID is the run id of the Redis server that holds key: on a cluster,
// the master of key's slot.
func serverID(ctx context.Context, rdb redis.UniversalClient, key string) (string, error) {
	node := rdb
	if cluster, ok := rdb.(*redis.ClusterClient); ok {
		master, err := cluster.MasterForKey(ctx, key)
		if err != nil {
			return "", err
		}
		node = master
	}
	info, err := node.Info(ctx, "server").Result()
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(info) {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "run_id:"); ok {
			return id, nil
		}
	}
	return "", errors.New("redis INFO has no run_id")
}

// watermarkName is the checkpoint row that holds the watermark.
func (r *Relay) watermarkName() string { return r.checkpoint + ".acknowledged" }

// Recoveries counts the times this process found Redis empty and rewound.
func (r *Relay) Recoveries() int64 { return r.recoveries.Load() }

// recover runs when the relay becomes the leader, before it publishes. If the
// marker is missing, Redis lost its data (or never had any): it recreates the
// consumer groups (so running consumers, stuck on NOGROUP, read again from the
// start of each stream), rewinds the checkpoint to the watermark after
// emptying the relayed streams, and only then sets the marker, so that a
// crash half way just makes the next leader recover again.
func (r *Relay) recover(ctx context.Context) error {
	rdb := r.recovery.Redis
	if lost, err := r.redisLost(ctx); err != nil || !lost {
		return err
	}
	published, err := LoadCheckpoint(ctx, r.store.Pool(), r.checkpoint)
	if err != nil {
		return err
	}
	for _, g := range r.recovery.Groups {
		topics := slices.Clone(g.Others)
		for _, c := range g.Categories {
			topics = append(topics, Topic(r.prefix, c))
		}
		for _, topic := range topics {
			if err := CreateGroup(ctx, rdb, topic, g.Name); err != nil {
				return fmt.Errorf("recreate consumer group %s: %w", g.Name, err)
			}
		}
	}
	// On a first start nothing was published, so nothing was lost.
	if published != eventstore.Start {
		// What was published since the restart goes too: it is republished in
		// order with the rest. Left in place it would come first, and a consumer
		// would wait forever on an event whose predecessor is queued behind it.
		// Trimmed, not deleted: deleting a stream fails the reads consumers
		// are blocked in and drops the groups they have just recreated.
		for _, g := range r.recovery.Groups {
			for _, c := range g.Categories {
				if err := rdb.XTrimMaxLen(ctx, Topic(r.prefix, c), 0).Err(); err != nil {
					return err
				}
			}
		}
		from, err := LoadCheckpoint(ctx, r.store.Pool(), r.watermarkName())
		if err != nil {
			return err
		}
		if from.After(published) {
			from = published
		}
		r.log.WarnContext(ctx, "redis lost published events; republishing", "from", from.String(), "was_at", published.String())
		if err := SaveCheckpoint(ctx, r.store.Pool(), r.checkpoint, from); err != nil {
			return err
		}
		r.recoveries.Add(1)
	}
	id, err := serverID(ctx, rdb, r.markerKey())
	if err != nil {
		return err
	}
	return rdb.Set(ctx, r.markerKey(), id, 0).Err()
}

// guard checks the marker while the relay leads and stops it (errRedisLost)
// when the marker disappears; in between it records the watermark.
func (r *Relay) guard(ctx context.Context, stop context.CancelCauseFunc) {
	every := r.recovery.Check
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	// settledAt is Published when a watermark last found every group done
	// with everything (-1: not since): until more is published, another
	// would find the same, and an idle platform would pay for it.
	settledAt := int64(-1)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Unreachable Redis is not a loss: publishing fails too, and the
		// relay starts over (and checks again) when Redis answers.
		if lost, err := r.redisLost(ctx); err == nil && lost {
			stop(errRedisLost)
			return
		}
		if i%5 != 0 || r.Published() == settledAt {
			continue
		}
		// The watermark of a settled round is the relay's checkpoint, saved a
		// little after publishing: it covers everything only if that was saved.
		published, checkpointed := r.Published(), r.checkpointed.Load()
		settled, err := r.saveWatermark(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "relay watermark not recorded", "err", err)
		}
		settledAt = -1
		if settled && checkpointed == published {
			settledAt = published
		}
	}
}

// Watermarks counts the watermarks this process has computed.
func (r *Relay) Watermarks() int64 { return r.watermarks.Load() }

// saveWatermark records a position before which every group has acknowledged
// every event of its streams. Each stream holds its category's events in
// commit order, so for each group and stream everything before the first
// entry the group has not acknowledged (pending, or not yet delivered) is
// done; the watermark is the earliest such entry over all of them, or the
// relay's checkpoint, read first, when nothing is outstanding.
//
// It then trims each stream to what some group still needs: without that,
// Redis would keep every event ever published. A group that does not exist
// yet (it will read from the stream's start) stops its streams' trimming.
// settled reports that every group exists and had acknowledged everything.
func (r *Relay) saveWatermark(ctx context.Context) (settled bool, err error) {
	r.watermarks.Add(1)
	mark, err := LoadCheckpoint(ctx, r.store.Pool(), r.checkpoint)
	if err != nil {
		return false, err
	}
	settled = true
	rdb := r.recovery.Redis
	byTopic := map[string][]string{}
	for _, g := range r.recovery.Groups {
		for _, c := range g.Categories {
			byTopic[Topic(r.prefix, c)] = append(byTopic[Topic(r.prefix, c)], g.Name)
		}
	}
	keep := map[string]string{} // topic → the earliest entry some group needs
	for topic, names := range byTopic {
		infos, err := rdb.XInfoGroups(ctx, topic).Result()
		if err != nil && strings.Contains(err.Error(), "no such key") {
			continue // nothing was ever published to this category
		}
		if err != nil {
			return false, err
		}
		need, trim := "", true
		for _, name := range names {
			info := groupInfo(infos, name)
			id, err := firstUnacknowledged(ctx, rdb, topic, info)
			if err != nil {
				return false, err
			}
			bound := id
			switch {
			case id == "" && info != nil:
				bound = info.LastDeliveredID // the group has everything up to it
			case id == "":
				trim = false // the group does not exist yet
			}
			if bound != "" && (need == "" || streamIDBefore(bound, need)) {
				need = bound
			}
			if info == nil || id != "" {
				settled = false
			}
			if id == "" {
				continue // the group has everything
			}
			p, err := entryPosition(ctx, rdb, topic, id)
			if err != nil {
				return false, err
			}
			// Follow reads after a position: start just before p.
			if before := (eventstore.Position{TransactionID: p.TransactionID, GlobalPos: p.GlobalPos - 1}); mark.After(before) {
				mark = before
			}
		}
		if trim && need != "" {
			keep[topic] = need
		}
	}
	// Only a watermark computed while Redis kept its data is true: if the
	// marker went meanwhile, some of what was read came from an empty Redis.
	if lost, err := r.redisLost(ctx); err != nil || lost {
		return false, err
	}
	if err := SaveCheckpoint(ctx, r.store.Pool(), r.watermarkName(), mark); err != nil {
		return false, err
	}
	for topic, id := range keep {
		// Exact, not "~", which drops only whole nodes of entries: this runs
		// every few seconds, so the extra work is small.
		if err := rdb.XTrimMinID(ctx, topic, id).Err(); err != nil {
			return false, fmt.Errorf("trim %s: %w", topic, err)
		}
	}
	return settled, nil
}

// groupInfo is group's entry in infos, or nil when the group does not exist.
func groupInfo(infos []redis.XInfoGroup, group string) *redis.XInfoGroup {
	for i := range infos {
		if infos[i].Name == group {
			return &infos[i]
		}
	}
	return nil
}

// streamIDBefore reports whether stream entry id a comes before b. Ids are
// "<milliseconds>-<sequence>"; the relay's entries are added with "*", so
// both parts are decimal.
func streamIDBefore(a, b string) bool {
	split := func(id string) (ms, seq uint64) {
		m, q, _ := strings.Cut(id, "-")
		ms, _ = strconv.ParseUint(m, 10, 64)
		seq, _ = strconv.ParseUint(q, 10, 64)
		return ms, seq
	}
	am, as := split(a)
	bm, bs := split(b)
	return am < bm || am == bm && as < bs
}

// firstUnacknowledged returns the id of the first entry of topic that the
// group of info (nil: a group that does not exist yet, and has read nothing)
// has not acknowledged, or "" when it has acknowledged them all.
func firstUnacknowledged(ctx context.Context, rdb redis.UniversalClient, topic string, info *redis.XInfoGroup) (string, error) {
	start := "-"
	if info != nil {
		if info.Pending > 0 {
			p, err := rdb.XPending(ctx, topic, info.Name).Result()
			if err != nil {
				return "", err
			}
			return p.Lower, nil
		}
		start = "(" + info.LastDeliveredID
	}
	entries, err := rdb.XRangeN(ctx, topic, start, "+", 1).Result()
	if err != nil || len(entries) == 0 {
		return "", err
	}
	return entries[0].ID, nil
}

// entryPosition reads the event position of one relayed stream entry.
func entryPosition(ctx context.Context, rdb redis.UniversalClient, topic, id string) (eventstore.Position, error) {
	entries, err := rdb.XRange(ctx, topic, id, id).Result()
	if err != nil {
		return eventstore.Position{}, err
	}
	if len(entries) == 0 {
		return eventstore.Position{}, fmt.Errorf("%s: entry %s is gone", topic, id)
	}
	msg, err := redisstream.DefaultMarshallerUnmarshaller{}.Unmarshal(entries[0].Values)
	if err != nil {
		return eventstore.Position{}, err
	}
	e, err := FromMessage(msg)
	return e.Position, err
}
