package api

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
)

func TestLoadKeysGeneratesOnceAndVerifies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := LoadKeys("", dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, "jwt.pem"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, info.Mode())
	}
	again, err := LoadKeys(filepath.Join(dir, "jwt.pem"), "")
	if err != nil || again.KeyID() != first.KeyID() {
		t.Fatalf("reloaded key: %v, kid %q want %q", err, again.KeyID(), first.KeyID())
	}

	now := time.Now()
	id := uuid.New()
	tok, err := first.Issue(id, "demo.myshopify.com", domain.RoleStaff, "s@demo.test", uuid.NewString(), now)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := again.Verify(tok, now.Add(time.Minute))
	if err != nil || claims.Subject != id.String() || claims.Role != domain.RoleStaff {
		t.Fatalf("verify: %v %+v", err, claims)
	}
	if _, err := again.Verify(tok, now.Add(accessTokenTTL+time.Second)); err == nil {
		t.Fatal("token accepted after expiry")
	}
	other, err := LoadKeys("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(tok, now); err == nil {
		t.Fatal("token accepted by another key")
	}
}
