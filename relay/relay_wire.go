package relay

// With a PipelinePublisher the relay writes the XADD fields of Watermill's
// default marshaller itself: ToMessage's JSON payload without reflection,
// and its metadata as the msgpack map the redisstream unmarshaller decodes.
// That takes a quarter of the CPU of ToMessage plus the marshaller; tests
// keep the payload byte-equal to json.Marshal and the decoded message equal.

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/eventstore"
)

const hexDigits = "0123456789abcdef"

// wireOverhead is about what an event's XADD fields take besides its data,
// so a batch's buffer is allocated once.
const wireOverhead = 768

// appendWire appends e's XADD field-value list to values, the bytes of its
// fields to buf. The fields alias buf, which must not be written to while
// they are in use.
func appendWire(buf []byte, values []any, e *eventstore.Event) ([]byte, []any) {
	start := len(buf)
	buf = appendUUID(buf, e.ID)
	id := buf[start:len(buf):len(buf)]
	start = len(buf)
	buf = appendMessageMetadata(buf, e)
	md := buf[start:len(buf):len(buf)]
	start = len(buf)
	buf = appendEventJSON(buf, e)
	payload := buf[start:len(buf):len(buf)]
	return buf, append(values, redisstream.UUIDHeaderKey, id, "metadata", md, "payload", payload)
}

func appendUUID(b []byte, id uuid.UUID) []byte {
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return b
}

// appendMessageMetadata appends ToMessage's metadata as a msgpack map.
func appendMessageMetadata(b []byte, e *eventstore.Event) []byte {
	var num [48]byte
	b = append(b, 0x80|7) // fixmap of 7 entries
	b = appendMsgpackStr(b, MetaEventType)
	b = appendMsgpackStr(b, e.Type)
	b = appendMsgpackStr(b, MetaStreamID)
	b = appendMsgpackStr(b, e.StreamID)
	b = appendMsgpackStr(b, MetaStreamVersion)
	b = appendMsgpackStr(b, strconv.AppendInt(num[:0], e.StreamVersion, 10))
	b = appendMsgpackStr(b, MetaPosition)
	p := strconv.AppendUint(num[:0], e.Position.TransactionID, 10)
	b = appendMsgpackStr(b, strconv.AppendInt(append(p, '.'), e.Position.GlobalPos, 10))
	b = appendMsgpackStr(b, MetaTenant)
	b = appendMsgpackStr(b, e.Tenant)
	b = appendMsgpackStr(b, MetaCorrelationID)
	b = appendMsgpackStr(b, e.Metadata.CorrelationID)
	b = appendMsgpackStr(b, MetaCausationID)
	return appendMsgpackStr(b, e.Metadata.CausationID)
}

func appendMsgpackStr[S string | []byte](b []byte, s S) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 1<<8:
		b = append(b, 0xd9, byte(n))
	case n < 1<<16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, s...)
}

// appendEventJSON appends exactly what json.Marshal(e) returns for an event
// whose data is valid JSON, as events read from the store are.
func appendEventJSON(b []byte, e *eventstore.Event) []byte {
	b = append(b, `{"position":{"transaction_id":`...)
	b = strconv.AppendUint(b, e.Position.TransactionID, 10)
	b = append(b, `,"global_position":`...)
	b = strconv.AppendInt(b, e.Position.GlobalPos, 10)
	b = append(b, `},"event_id":"`...)
	b = appendUUID(b, e.ID)
	b = append(b, `","stream_id":`...)
	b = appendJSONString(b, e.StreamID)
	b = append(b, `,"stream_version":`...)
	b = strconv.AppendInt(b, e.StreamVersion, 10)
	b = append(b, `,"event_type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(e.SchemaVersion), 10)
	b = append(b, `,"tenant_id":`...)
	b = appendJSONString(b, e.Tenant)
	b = append(b, `,"data":`...)
	if e.Data == nil {
		b = append(b, "null"...)
	} else {
		b = appendCompactJSON(b, e.Data)
	}
	b = append(b, `,"metadata":{`...)
	b = appendMetadataJSON(b, &e.Metadata)
	b = append(b, `},"recorded_at":"`...)
	b = e.RecordedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","prev_hash":`...)
	b = appendJSONBytes(b, e.PrevHash)
	b = append(b, `,"hash":`...)
	b = appendJSONBytes(b, e.Hash)
	return append(b, '}')
}

// appendMetadataJSON appends m's non-empty fields (all are omitempty).
func appendMetadataJSON(b []byte, m *eventstore.Metadata) []byte {
	n := len(b)
	for _, f := range [...]struct{ key, value string }{
		{`"correlation_id":`, m.CorrelationID}, {`"causation_id":`, m.CausationID},
		{`"actor":`, m.Actor}, {`"request_id":`, m.RequestID}, {`"source":`, m.Source},
		{`"traceparent":`, m.TraceParent},
	} {
		if f.value == "" {
			continue
		}
		if len(b) > n {
			b = append(b, ',')
		}
		b = appendJSONString(append(b, f.key...), f.value)
	}
	return b
}

func appendJSONBytes(b, v []byte) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = base64.StdEncoding.AppendEncode(append(b, '"'), v)
	return append(b, '"')
}

// appendJSONString quotes s as encoding/json does: HTML-safe, invalid UTF-8
// replaced, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}

// appendCompactJSON appends valid JSON without insignificant whitespace and
// with <, >, &, U+2028 and U+2029 escaped, as json.Marshal writes a RawMessage.
// It runs over a payload in tight loops between the bytes that matter: the
// relay compacts every event's data, and jsonb prints a space after each
// colon and comma.
func appendCompactJSON(b, src []byte) []byte {
	start, i := 0, 0
	for i < len(src) {
		switch c := src[i]; {
		case c == '"':
			// The quotes are copied, only the string's special bytes stop the scan.
			for i++; i < len(src); i++ {
				c := src[i]
				if !inStringSpecial[c] {
					continue
				}
				if c == '"' {
					break
				}
				if c == '\\' {
					i++
					continue
				}
				if c == 0xe2 { // U+2028 and U+2029 are E2 80 A8 and E2 80 A9
					if i+2 >= len(src) || src[i+1] != 0x80 || src[i+2]&^1 != 0xa8 {
						continue
					}
					b = append(append(b, src[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xf])
					i += 2
				} else {
					b = append(append(b, src[start:i]...), '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				}
				start = i + 1
			}
			i++
		case isJSONSpace(c):
			b = append(b, src[start:i]...)
			for i++; i < len(src) && isJSONSpace(src[i]); i++ {
			}
			start = i
		default:
			i++
		}
	}
	return append(b, src[start:]...)
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// inStringSpecial marks the bytes inside a JSON string that appendCompactJSON
// must look at.
var inStringSpecial = [256]bool{'"': true, '\\': true, '<': true, '>': true, '&': true, 0xe2: true}
