package api

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

func TestVerifiedTokensAreRememberedUntilExpiry(t *testing.T) {
	keys, err := LoadKeys("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := keys.Issue(uuid.New(), "demo.myshopify.com", domain.RoleStaff, "s@demo.test", uuid.NewString(), now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Verify(tok, now); err != nil {
		t.Fatal(err)
	}
	if len(keys.verified.m) != 1 {
		t.Fatalf("%d tokens remembered, want 1", len(keys.verified.m))
	}
	for name, at := range map[string]time.Time{
		"at expiry":     now.Add(accessTokenTTL),
		"before issued": now.Add(-time.Minute),
	} {
		if _, err := keys.Verify(tok, at); err == nil {
			t.Errorf("remembered token accepted %s", name)
		}
	}
	// One changed byte is another token, verified afresh.
	b := []byte(tok)
	b[len(b)-10] ^= 1
	if _, err := keys.Verify(string(b), now); err == nil {
		t.Error("altered signature accepted")
	}

	// A hit skips the signature check: a remembered entry is all it takes.
	keys.verified.put(sha256.Sum256([]byte("not.a.jwt")), &AccessClaims{Shop: "cached.myshopify.com",
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}}, now)
	if claims, err := keys.Verify("not.a.jwt", now); err != nil || claims.Shop != "cached.myshopify.com" {
		t.Fatalf("remembered entry not used: %v %+v", err, claims)
	}
}

func TestVerifiedTokensAreBounded(t *testing.T) {
	v := verifiedTokens{m: map[[sha256.Size]byte]*AccessClaims{}}
	now := time.Now()
	claims := func(exp time.Time) *AccessClaims {
		return &AccessClaims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(exp)}}
	}
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(strconv.Itoa(i))) }
	for i := range maxVerifiedTokens {
		exp := now.Add(time.Minute)
		if i%2 == 0 {
			exp = now.Add(-time.Minute)
		}
		v.put(key(i), claims(exp), now)
	}
	v.put(key(-1), claims(now.Add(time.Minute)), now)
	if len(v.m) != maxVerifiedTokens/2+1 {
		t.Fatalf("%d tokens remembered, want the %d unexpired ones and the new one", len(v.m), maxVerifiedTokens/2)
	}
	for i := range maxVerifiedTokens / 2 {
		v.put(key(maxVerifiedTokens+i), claims(now.Add(time.Minute)), now)
	}
	if len(v.m) != maxVerifiedTokens {
		t.Fatalf("%d tokens remembered, want at most %d", len(v.m), maxVerifiedTokens)
	}
}
