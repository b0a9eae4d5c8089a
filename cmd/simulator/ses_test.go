package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

func sendEmail(t *testing.T, c *sesv2.Client, to string) (*sesv2.SendEmailOutput, error) {
	t.Helper()
	return c.SendEmail(t.Context(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("orders@shop.test"),
		Destination:      &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("Your order #1001 has shipped")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String("It is on its way.")},
				Html: &types.Content{Data: aws.String("<p>It is on its way.</p>")},
			},
		}},
	})
}

func TestSESWithTheSDK(t *testing.T) {
	_, base := startSimulator(t, defaultAdmin, nil)
	client := sesv2.New(sesv2.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(base),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})

	out, err := sendEmail(t, client, "ada@example.test")
	if err != nil || out.MessageId == nil || *out.MessageId == "" {
		t.Fatalf("SendEmail: %v %+v", err, out)
	}

	var f faultsView
	if code := call(t, "POST", base+"/_sim/faults", `{"ses":{"fail_to":["Bounce@X.test"]}}`, &f); code != http.StatusOK || f.SES.Status != http.StatusBadRequest {
		t.Fatalf("set fault: %d %+v", code, f)
	}
	_, err = sendEmail(t, client, "bounce@x.test")
	var rejected *types.MessageRejected
	if !errors.As(err, &rejected) || !strings.Contains(rejected.ErrorMessage(), "bounce@x.test") {
		t.Fatalf("want a typed MessageRejected, got %T %v", err, err)
	}

	var msgs struct{ Messages []sesMessage }
	call(t, "GET", base+"/_sim/ses/messages", nil, &msgs)
	if len(msgs.Messages) != 1 {
		t.Fatalf("messages: %+v", msgs)
	}
	m := msgs.Messages[0]
	if m.MessageID != *out.MessageId || m.From != "orders@shop.test" || m.To[0] != "ada@example.test" ||
		m.Subject != "Your order #1001 has shipped" || m.Body != "It is on its way." || m.HTML == "" || m.ReceivedAt.IsZero() {
		t.Fatalf("recorded message: %+v", m)
	}
	if code := call(t, "DELETE", base+"/_sim/ses/messages", nil, nil); code != http.StatusNoContent {
		t.Fatalf("clear: %d", code)
	}
	call(t, "GET", base+"/_sim/ses/messages", nil, &msgs)
	if len(msgs.Messages) != 0 {
		t.Fatalf("after clear: %+v", msgs)
	}

	var e struct{ Message string }
	if code := call(t, "POST", base+"/v2/email/outbound-emails", `{}`, &e); code != http.StatusForbidden || e.Message == "" {
		t.Fatalf("unsigned request: %d %+v", code, e)
	}
}
