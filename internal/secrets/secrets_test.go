package secrets_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ordermill/ordermill/internal/secrets"
)

func key(t *testing.T, b byte) *secrets.Key {
	t.Helper()
	k, err := secrets.NewKey(bytes.Repeat([]byte{b}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := key(t, 1)
	sealed := k.Seal([]byte("shpss_secret"), "shop:a:webhook")
	if bytes.Contains(sealed, []byte("shpss_secret")) {
		t.Fatal("sealed value contains the plaintext")
	}
	if got, err := k.Open(sealed, "shop:a:webhook"); err != nil || string(got) != "shpss_secret" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if bytes.Equal(sealed, k.Seal([]byte("shpss_secret"), "shop:a:webhook")) {
		t.Error("two seals of one value are equal: nonce reused")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"wrong key":     func() ([]byte, error) { return key(t, 2).Open(sealed, "shop:a:webhook") },
		"wrong context": func() ([]byte, error) { return k.Open(sealed, "shop:b:webhook") },
		"tampered":      func() ([]byte, error) { return k.Open(tampered, "shop:a:webhook") },
		"truncated":     func() ([]byte, error) { return k.Open(sealed[:5], "shop:a:webhook") },
	} {
		if _, err := open(); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	generated, err := secrets.LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "master.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	again, err := secrets.LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(generated.Seal([]byte("x"), "c"), "c"); err != nil || string(got) != "x" {
		t.Errorf("reloaded key does not open what the generated one sealed: %v", err)
	}

	configured := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, secrets.KeySize))
	k, err := secrets.LoadKey(configured, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(generated.Seal([]byte("x"), "c"), "c"); !errors.Is(err, secrets.ErrOpen) {
		t.Error("the configured key should win over the generated file")
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := secrets.LoadKey(bad, dir); err == nil {
			t.Errorf("LoadKey(%q) accepted a bad key", bad)
		}
	}
}
