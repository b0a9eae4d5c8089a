// Package relay publishes the event store's events, in commit order, to Redis
// Streams (one stream per event category) as Watermill messages: one leader
// at a time, checkpointed, woken by LISTEN/NOTIFY, at least once.
package relay
