package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

type sesMessage struct {
	MessageID  string    `json:"message_id"`
	From       string    `json:"from"`
	To         []string  `json:"to"`
	Cc         []string  `json:"cc,omitempty"`
	Bcc        []string  `json:"bcc,omitempty"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	HTML       string    `json:"html,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
}

type sesFault struct {
	FailTo []string `json:"fail_to"`
	Status int      `json:"status"`
}

// sesService accepts SES v2 SendEmail calls and keeps what it accepted.
type sesService struct {
	now func() time.Time

	mu       sync.Mutex
	messages []sesMessage
	fault    sesFault
}

func (s *sesService) setFault(f sesFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

func (s *sesService) faultState() sesFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

func (s *sesService) list() []sesMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sesMessage{}, s.messages...)
}

func (s *sesService) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

// sesError answers the way SES's REST-JSON protocol does: the SDK takes the
// error code from X-Amzn-ErrorType and the text from "message".
func sesError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-ErrorType", code)
	writeJSON(w, status, map[string]string{"message": msg})
}

type sesContent struct {
	Data string `json:"Data"`
}

type sendEmailInput struct {
	FromEmailAddress string `json:"FromEmailAddress"`
	Destination      struct {
		ToAddresses  []string `json:"ToAddresses"`
		CcAddresses  []string `json:"CcAddresses"`
		BccAddresses []string `json:"BccAddresses"`
	} `json:"Destination"`
	Content struct {
		Simple *struct {
			Subject sesContent `json:"Subject"`
			Body    struct {
				Text *sesContent `json:"Text"`
				HTML *sesContent `json:"Html"`
			} `json:"Body"`
		} `json:"Simple"`
	} `json:"Content"`
}

// serveSendEmail handles POST /v2/email/outbound-emails. SigV4 is not
// verified, but a request without any Authorization is refused as AWS would.
func (s *sesService) serveSendEmail(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		sesError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	var in sendEmailInput
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 10<<20)).Decode(&in); err != nil {
		sesError(w, http.StatusBadRequest, "BadRequestException", "Invalid request body: "+err.Error())
		return
	}
	simple := in.Content.Simple
	dest := in.Destination
	if in.FromEmailAddress == "" || len(dest.ToAddresses)+len(dest.CcAddresses)+len(dest.BccAddresses) == 0 || simple == nil {
		sesError(w, http.StatusBadRequest, "BadRequestException", "FromEmailAddress, a destination and Content.Simple are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, addr := range slices.Concat(dest.ToAddresses, dest.CcAddresses, dest.BccAddresses) {
		for _, bad := range s.fault.FailTo {
			if strings.EqualFold(addr, bad) {
				sesError(w, s.fault.Status, "MessageRejected", "Email address is on the suppression list for your account: "+addr)
				return
			}
		}
	}
	m := sesMessage{
		MessageID:  uuid.NewString(),
		From:       in.FromEmailAddress,
		To:         dest.ToAddresses,
		Cc:         dest.CcAddresses,
		Bcc:        dest.BccAddresses,
		Subject:    simple.Subject.Data,
		ReceivedAt: s.now().UTC(),
	}
	if t := simple.Body.Text; t != nil {
		m.Body = t.Data
	}
	if h := simple.Body.HTML; h != nil {
		m.HTML = h.Data
	}
	s.messages = append(s.messages, m)
	writeJSON(w, http.StatusOK, map[string]string{"MessageId": m.MessageID})
}
