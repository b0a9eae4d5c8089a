package platform

import (
	"fmt"

	"github.com/ordermill/ordermill/audit"
)

// Auditor is the scheduled audit as configured: verify the whole log every
// ORDERMILL_AUDIT_INTERVAL and, with ORDERMILL_CHECKPOINT_KEY_FILE, sign a
// checkpoint and append it to ORDERMILL_CHECKPOINT_EXPORT.
func (p *Platform) Auditor() (*audit.Auditor, error) {
	cfg := audit.AuditorConfig{Interval: p.Config.AuditInterval, Export: p.Config.CheckpointExport,
		Registerer: p.Metrics, Logger: p.Log}
	if p.Config.CheckpointKeyFile != "" {
		key, err := audit.ReadPrivateKeyFile(p.Config.CheckpointKeyFile)
		if err != nil {
			return nil, fmt.Errorf("ORDERMILL_CHECKPOINT_KEY_FILE: %w", err)
		}
		cfg.Key = key
	}
	return audit.NewAuditor(p.Store, cfg)
}
