package domain

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordPolicy(t *testing.T) {
	cases := []struct {
		pw, email string
		want      []string // messages expected on "password", none for an accepted one
	}{
		{"tidal-orchard-lantern", "jane.doe@example.com", nil},
		{"短いけれど十分に長い合言葉です", "jane@example.com", nil}, // 15 characters, 45 bytes
		{"correct horse", "a@example.com", nil},      // a one-letter name is not checked
		{"tidal-orch", "jane@example.com", []string{"at least 12 characters"}},
		{"日本語の合言葉", "jane@example.com", []string{"at least 12 characters"}}, // 21 bytes, 7 characters
		{strings.Repeat("x", 73), "jane@example.com", []string{"at most 72 bytes"}},
		{"qwerty123456", "jane@example.com", []string{"most common passwords"}},
		{"1QAZ2WSX3EDC", "jane@example.com", []string{"most common passwords"}},
		{"password", "jane@example.com", []string{"at least 12 characters", "most common passwords"}},
		{"my-Jane.Doe-rocks", "jane.doe@example.com", []string{"email address's name"}},
		{"hello-DOE-world!", "jane.doe@example.com", nil}, // "doe" is shorter than four
		{"janeisthebest!!", "jane.doe@example.com", []string{"email address's name"}},
		{"xx-bob-likes-tea", "bob@example.com", []string{"email address's name"}},
	}
	for _, c := range cases {
		err := CheckPasswordPolicy(c.pw, c.email)
		if c.want == nil {
			if err != nil {
				t.Errorf("%q for %s: %v, want accepted", c.pw, c.email, err)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != len(c.want) {
			t.Errorf("%q for %s: %v, want %d problems", c.pw, c.email, err, len(c.want))
			continue
		}
		for i, f := range ve.Fields {
			if f.Field != "password" || !strings.Contains(f.Message, c.want[i]) {
				t.Errorf("%q for %s: problem %d is %s: %s, want password: …%s…", c.pw, c.email, i, f.Field, f.Message, c.want[i])
			}
		}
	}
}

func TestCommonPasswordList(t *testing.T) {
	if n := len(commonPasswords); n != 10000 {
		t.Fatalf("embedded list holds %d passwords, want 10000", n)
	}
	for _, p := range []string{"123456", "password", "iloveyou", "qwertyuiop", "Dragon"} {
		if !CommonPassword(p) {
			t.Errorf("%q is not on the list", p)
		}
	}
	if CommonPassword("tidal-orchard-lantern") {
		t.Error("an uncommon password is on the list")
	}
}
