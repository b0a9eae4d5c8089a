package app

// Webhook statuses, as the webhook log shows them and the outcome of
// processing a webhook reports them.
const (
	WebhookStatusReceived  = "received"
	WebhookStatusProcessed = "processed"
	WebhookStatusFailed    = "failed"
)

// WebhookOutcome is what processing a webhook concluded.
type WebhookOutcome struct {
	Status string `json:"status"` // processed or failed
	Result string `json:"result,omitempty"`
	Detail string `json:"detail,omitempty"`
	// AlreadyDone means an earlier run had recorded this outcome.
	AlreadyDone bool `json:"already_done"`
}
