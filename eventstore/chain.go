package eventstore

import (
	"bytes"
	"strconv"

	"github.com/google/uuid"
)

// The hash chain is computed in the database at insert:
// hash = sha256(prev_hash ‖ canonical bytes of the event), per stream.

// CanonicalBytes rebuilds what an event's hash covers, outside the database,
// from the event's stored columns (data and metadata in jsonb's text form).
func CanonicalBytes(id uuid.UUID, stream string, version int64, eventType string, schema int,
	tenant string, recordedMicros int64, data, metadata string) []byte {
	var b bytes.Buffer
	for _, part := range []string{id.String(), stream, strconv.FormatInt(version, 10), eventType,
		strconv.Itoa(schema), tenant, strconv.FormatInt(recordedMicros, 10), data} {
		b.WriteString(part)
		b.WriteByte('\n')
	}
	b.WriteString(metadata)
	return b.Bytes()
}
