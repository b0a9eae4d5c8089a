package eventstore

import (
	"maps"
	"slices"
	"strings"

	"github.com/ordermill/ordermill/domain"
)

// withheldFields lists, per event type, fields that events stored by earlier
// versions carry and that no reader may pass on: user.registered used to hold
// the user's bcrypt password hash. Stored events are never rewritten and
// their hashes cover these fields, so the fields stay in the table, where
// Verify reads them; every other reader (streams, "all", the relay and so
// Redis, traces, time travel, exports) gets the data without them.
var withheldFields = map[string][]string{
	domain.UserRegistered{}.EventType(): {"password_hash"},
}

// ReadableData is the data column as readers see it, in SQL: the stored
// jsonb less the withheld fields of its event type.
var ReadableData = withheldCase(func(fields string) string { return "data - '{" + fields + "}'::text[]" }, "data")

// WithheldNames is, in SQL, the comma-separated names of the fields
// ReadableData removed from an event, or NULL when it removed none.
var WithheldNames = withheldCase(func(fields string) string {
	return "(SELECT string_agg(k, ',') FROM unnest('{" + fields + "}'::text[]) AS k WHERE data ? k)"
}, "NULL")

// withheldCase builds "CASE event_type WHEN <type> THEN <then(fields)> … ELSE
// <otherwise> END". The names are this file's constants, never input.
func withheldCase(then func(fields string) string, otherwise string) string {
	var b strings.Builder
	b.WriteString("CASE event_type")
	for _, typ := range slices.Sorted(maps.Keys(withheldFields)) {
		b.WriteString(" WHEN '" + typ + "' THEN " + then(strings.Join(withheldFields[typ], ",")))
	}
	b.WriteString(" ELSE " + otherwise + " END")
	return b.String()
}
