package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ordermill/ordermill/eventstore"
)

// AuditorLockKey is the advisory lock that makes one process of a deployment
// run the scheduled audits; the others wait as standbys.
const AuditorLockKey int64 = 0x6f6d6175646974 // "omaudit"

// AuditorConfig configures scheduled audits.
type AuditorConfig struct {
	// Interval is the time from one recorded verify run to the next round
	// (Run only; Round runs one now).
	Interval time.Duration
	// Key signs a checkpoint after every clean round; nil only verifies.
	Key ed25519.PrivateKey
	// Export is the file every signed checkpoint is appended to ("": none).
	Export string
	// Registerer takes the audit metrics (nil: Prometheus's default registry).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	// RetryEvery is how often a standby tries the lock (default 5 s).
	RetryEvery time.Duration
}

// Auditor runs the audits the deployment schedules: verify the whole log,
// record the run, check the export, then sign a checkpoint of the heads and
// export it. A round that finds anything signs nothing: the metric
// ordermill_audit_verify_ok drops to 0 and stays there until a clean round.
type Auditor struct {
	store   *Log
	cfg     AuditorConfig
	log     *slog.Logger
	metrics auditMetrics
}

type auditMetrics struct {
	verifyOK    prometheus.Gauge
	findings    prometheus.Gauge
	lastSuccess prometheus.Gauge
	rounds      *prometheus.CounterVec
}

// NewAuditor returns an auditor of store and registers its metrics.
func NewAuditor(store *eventstore.Store, cfg AuditorConfig) (*Auditor, error) {
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = 5 * time.Second
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.DefaultRegisterer
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Auditor{store: New(store), cfg: cfg, log: cfg.Logger}
	m := auditMetrics{
		verifyOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ordermill_audit_verify_ok",
			Help: "1 when the last scheduled verify of the whole log found nothing, 0 when it found tampering. Only the process running the schedule has it."}),
		findings: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ordermill_audit_findings",
			Help: "Findings of the last scheduled verify."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ordermill_audit_last_success_timestamp_seconds",
			Help: "When a scheduled round last verified a clean log and, with a key, signed and exported its checkpoint."}),
		rounds: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ordermill_audit_rounds_total",
			Help: "Scheduled audit rounds by result: ok, findings or error."}, []string{"result"}),
	}
	var err error
	if m.verifyOK, err = register(cfg.Registerer, m.verifyOK); err == nil {
		if m.findings, err = register(cfg.Registerer, m.findings); err == nil {
			if m.lastSuccess, err = register(cfg.Registerer, m.lastSuccess); err == nil {
				m.rounds, err = register(cfg.Registerer, m.rounds)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("auditor metrics: %w", err)
	}
	a.metrics = m
	return a, nil
}

// register registers c, or returns the collector already registered in its
// place (a platform may start its roles more than once).
func register[C prometheus.Collector](r prometheus.Registerer, c C) (C, error) {
	err := r.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, err
}

// AuditRound is the outcome of one round.
type AuditRound struct {
	Run        AuditRun          `json:"run"`
	Checkpoint *SignedCheckpoint `json:"checkpoint,omitempty"` // signed this round
	Exported   int               `json:"exported"`             // checkpoints appended to the export
}

// Round verifies the whole log and the export against it, records the run,
// and when nothing was found signs a checkpoint and exports every checkpoint
// not yet exported. A round with findings is not an error; Run.OK says so.
func (a *Auditor) Round(ctx context.Context) (AuditRound, error) {
	round, err := a.round(ctx)
	switch {
	case err != nil:
		a.metrics.rounds.WithLabelValues("error").Inc()
	case !round.Run.OK:
		a.metrics.rounds.WithLabelValues("findings").Inc()
	default:
		a.metrics.rounds.WithLabelValues("ok").Inc()
		a.metrics.lastSuccess.SetToCurrentTime()
	}
	return round, err
}

func (a *Auditor) round(ctx context.Context) (AuditRound, error) {
	var round AuditRound
	opts := AuditOptions{}
	if a.cfg.Key != nil {
		opts = SignerAuditOptions(a.cfg.Key)
	}
	report, err := a.store.Audit(ctx, opts)
	if err != nil {
		return round, err
	}
	var exported []SignedCheckpoint
	if a.cfg.Export != "" {
		exported, err = ReadCheckpointExport(a.cfg.Export)
		switch {
		case errors.Is(err, ErrExportCorrupt):
			report.Findings = append(report.Findings, Finding{Kind: FindingCheckpointExport, Detail: err.Error()})
		case err != nil:
			return round, err
		}
		found, err := a.store.CheckExport(ctx, exported)
		if err != nil {
			return round, err
		}
		report.Findings = append(report.Findings, found...)
	}
	if round.Run, err = a.store.RecordAudit(ctx, report); err != nil {
		return round, err
	}
	a.metrics.findings.Set(float64(len(report.Findings)))
	if !report.OK() {
		a.metrics.verifyOK.Set(0)
		a.log.ErrorContext(ctx, "scheduled audit: the event log does not verify; no checkpoint is signed until it does",
			"verify_run", round.Run.ID, "findings", len(report.Findings), "first", report.Findings[0].String())
		return round, nil
	}
	a.metrics.verifyOK.Set(1)
	if a.cfg.Key != nil {
		cp, err := a.store.SignAudited(ctx, a.cfg.Key, report)
		switch {
		case errors.Is(err, ErrNothingToSign):
		case err != nil:
			return round, err
		default:
			round.Checkpoint = &cp
		}
	}
	if a.cfg.Export != "" {
		var after int64
		if n := len(exported); n > 0 {
			after = exported[n-1].ID
		}
		if round.Exported, err = a.store.ExportCheckpoints(ctx, a.cfg.Export, after); err != nil {
			return round, err
		}
	}
	a.log.InfoContext(ctx, "scheduled audit", "verify_run", round.Run.ID, "events", report.Events,
		"signed", round.Checkpoint != nil, "exported", round.Exported)
	return round, nil
}

// Run waits as a standby until this process holds AuditorLockKey, then runs
// a round whenever Interval has passed since the last recorded verify run,
// until ctx ends. A failed round is logged and retried; it never stops the
// process.
func (a *Auditor) Run(ctx context.Context) error {
	if a.cfg.Interval <= 0 {
		return errors.New("scheduled audit: the interval must be positive")
	}
	for {
		err := a.lead(ctx)
		if ctx.Err() != nil {
			return nil
		}
		a.log.WarnContext(ctx, "scheduled audit stepped down", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(a.cfg.RetryEvery):
		}
	}
}

func (a *Auditor) lead(ctx context.Context) error {
	lock, err := a.store.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	for {
		var got bool
		if err := lock.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, AuditorLockKey).Scan(&got); err != nil {
			lock.Release()
			return err
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			lock.Release()
			return ctx.Err()
		case <-time.After(a.cfg.RetryEvery):
		}
	}
	defer func() {
		unlockCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = lock.Exec(unlockCtx, `SELECT pg_advisory_unlock($1)`, AuditorLockKey)
		cancel()
		// Closing the session releases the lock even when unlock could not run.
		lock.Hijack().Close(context.Background())
	}()
	a.log.InfoContext(ctx, "scheduled audit: this process runs the schedule", "interval", a.cfg.Interval.String())
	for {
		wait, err := a.untilDue(ctx)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		// Another process takes over once this session is gone: check it holds.
		if err := lock.Ping(ctx); err != nil {
			return fmt.Errorf("audit lock connection lost: %w", err)
		}
		if _, err := a.Round(ctx); err != nil && ctx.Err() == nil {
			a.log.ErrorContext(ctx, "scheduled audit round failed", "err", err)
			// Not due again at once: no run was recorded.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(min(a.cfg.Interval, time.Minute)):
			}
		}
	}
}

// untilDue is how long until the next round: Interval after the last
// recorded verify run, so restarts neither skip nor repeat rounds.
func (a *Auditor) untilDue(ctx context.Context) (time.Duration, error) {
	last, err := a.store.LastAudit(ctx)
	if errors.Is(err, ErrNoAuditRun) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(0, time.Until(last.FinishedAt.Add(a.cfg.Interval))), nil
}
