package api_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/telemetry"
	"github.com/ordermill/ordermill/internal/testenv/apitest"
)

// otlpReceiver is an OTLP/HTTP trace endpoint: it decodes what exporters
// send to /v1/traces, as a collector would.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (r *otlpReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	var export coltrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &export)
	}
	if err != nil || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	for _, rs := range export.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			r.spans = append(r.spans, ss.GetSpans()...)
		}
	}
	r.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// TestTraceParentRoundTrip: a caller's traceparent goes into the request's
// log lines and the metadata of the events it appends, as a child span of
// the caller's, and that span is exported over OTLP/HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set. A malformed traceparent starts a new trace.
func TestTraceParentRoundTrip(t *testing.T) {
	receiver := &otlpReceiver{}
	collector := httptest.NewServer(receiver)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	stop, err := telemetry.StartTracing(context.Background(), "ordermill-test")
	if err != nil {
		t.Fatal(err)
	}
	e := apitest.New(t)
	owner := e.UserToken(t, "traced.myshopify.com", domain.RoleOwner)

	const traceID, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	placed := placeOrder(t, e, owner, sampleOrder("traced@example.com"), "traceparent", "00-"+traceID+"-"+callerSpan+"-01")
	untraced := placeOrder(t, e, owner, sampleOrder("untraced@example.com"), "traceparent", "00-not-a-trace-01")

	parent := func(id string) []string {
		t.Helper()
		events, err := e.Platform.Store.ReadStream(context.Background(), "order-"+id, 1)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(events[0].Metadata.TraceParent, "-")
	}
	tp := parent(placed.ID)
	if len(tp) != 4 || tp[0] != "00" || tp[1] != traceID || len(tp[2]) != 16 || tp[2] == callerSpan || tp[3] != "01" {
		t.Fatalf("event traceparent %q, want 00-%s-<our span>-01", strings.Join(tp, "-"), traceID)
	}
	if other := parent(untraced.ID); len(other) != 4 || other[1] == traceID || other[1] == strings.Repeat("0", 32) {
		t.Errorf("a malformed traceparent: event traceparent %q, want a new trace", strings.Join(other, "-"))
	}

	// The request's log lines carry the trace.
	found := false
	for _, line := range strings.Split(e.Logs(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "http request" && rec["route"] == "/api/v1/orders" &&
			rec["trace_id"] == traceID && rec["span_id"] == tp[2] {
			found = true
		}
	}
	if !found {
		t.Errorf("no access log line with trace_id %s and span_id %s", traceID, tp[2])
	}

	// The span reached the collector, as the caller's span's child.
	flush, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stop(flush); err != nil {
		t.Fatal(err)
	}
	receiver.mu.Lock()
	defer receiver.mu.Unlock()
	var server *tracepb.Span
	for _, s := range receiver.spans {
		if hex.EncodeToString(s.GetSpanId()) == tp[2] {
			server = s
		}
	}
	if server == nil {
		t.Fatalf("span %s not exported (%d spans received)", tp[2], len(receiver.spans))
	}
	if hex.EncodeToString(server.GetTraceId()) != traceID || hex.EncodeToString(server.GetParentSpanId()) != callerSpan ||
		server.GetName() != "POST /api/v1/orders" || server.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("exported span: trace %x, parent %x, name %q, kind %v", server.GetTraceId(), server.GetParentSpanId(),
			server.GetName(), server.GetKind())
	}
}
