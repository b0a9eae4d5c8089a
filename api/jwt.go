package api

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
)

// Access token settings. Audience and issuer pin tokens to this API, so a token
// minted for something else with the same key is still refused.
const (
	jwtIssuer      = "ordermill"
	jwtAudience    = "ordermill-api"
	accessTokenTTL = 30 * time.Minute
	jwtKeyBits     = 2048
)

// Keys signs and verifies access tokens with one RSA key pair.
type Keys struct {
	kid      string
	priv     *rsa.PrivateKey
	verified verifiedTokens
}

// NewKeys wraps a private key; its key id is derived from the public key, so
// every process loading the same file agrees on it.
func NewKeys(priv *rsa.PrivateKey) *Keys {
	der := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
	sum := sha256.Sum256(der)
	return &Keys{kid: base64.RawURLEncoding.EncodeToString(sum[:12]), priv: priv,
		verified: verifiedTokens{m: map[[sha256.Size]byte]*AccessClaims{}}}
}

// KeyID returns the kid written into every token's header.
func (k *Keys) KeyID() string { return k.kid }

// PrivateKey returns the signing key (tests forge tokens with it).
func (k *Keys) PrivateKey() *rsa.PrivateKey { return k.priv }

// LoadKeys reads the PEM private key at file or, when file is empty, the one in
// dataDir/jwt.pem, generating it there on first start for local use.
func LoadKeys(file, dataDir string) (*Keys, error) {
	if file != "" {
		return readKeyFile(file)
	}
	path := filepath.Join(dataDir, "jwt.pem")
	keys, err := readKeyFile(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return keys, err
	}
	if err := generateKeyFile(path); err != nil {
		return nil, err
	}
	return readKeyFile(path)
}

func readKeyFile(path string) (*Keys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jwt key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("jwt key %s: no PEM block", path)
	}
	var priv *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		var k any
		if k, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			var ok bool
			if priv, ok = k.(*rsa.PrivateKey); !ok {
				err = errors.New("not an RSA key")
			}
		}
	default:
		err = fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("jwt key %s: %w", path, err)
	}
	if priv.N.BitLen() < jwtKeyBits {
		return nil, fmt.Errorf("jwt key %s: %d bits, want at least %d", path, priv.N.BitLen(), jwtKeyBits)
	}
	return NewKeys(priv), nil
}

// generateKeyFile writes a new key through a temporary file and a hard link,
// so concurrent first starts never see a half-written key and one of them wins.
func generateKeyFile(path string) error {
	priv, err := rsa.GenerateKey(rand.Reader, jwtKeyBits)
	if err != nil {
		return fmt.Errorf("generate jwt key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("jwt key dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".jwt-*.pem")
	if err != nil {
		return fmt.Errorf("jwt key: %w", err)
	}
	defer os.Remove(tmp.Name())
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}
	if err := errors.Join(tmp.Chmod(0o600), pem.Encode(tmp, block), tmp.Close()); err != nil {
		return fmt.Errorf("jwt key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("jwt key: %w", err)
	}
	return nil
}

// AccessClaims are what an access token asserts about its user.
type AccessClaims struct {
	Shop    string      `json:"shop"`
	Role    domain.Role `json:"role"`
	Email   string      `json:"email"`
	Session string      `json:"sid"` // refresh-token family; logout ends it
	jwt.RegisteredClaims
}

// Issue signs an access token for a user session valid from now.
func (k *Keys) Issue(userID uuid.UUID, shop string, role domain.Role, email, session string, now time.Time) (string, error) {
	claims := AccessClaims{
		Shop: shop, Role: role, Email: email, Session: session,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    jwtIssuer,
			Subject:   userID.String(),
			Audience:  jwt.ClaimStrings{jwtAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(accessTokenTTL)),
			ID:        uuid.NewString(),
		},
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.kid
	return t.SignedString(k.priv)
}

// Verify checks an access token's signature (RS256 only, known kid), issuer,
// audience and validity window at now, and returns its claims.
func (k *Keys) Verify(token string, now time.Time) (*AccessClaims, error) {
	sum := sha256.Sum256([]byte(token))
	if claims, ok := k.verified.get(sum, now); ok {
		return claims, nil
	}
	claims, err := k.verify(token, now)
	if err == nil {
		k.verified.put(sum, claims, now)
	}
	return claims, err
}

func (k *Keys) verify(token string, now time.Time) (*AccessClaims, error) {
	claims := &AccessClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != k.kid {
			return nil, errors.New("unknown key id")
		}
		return &k.priv.PublicKey, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(jwtIssuer),
		jwt.WithAudience(jwtAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(claims.Subject); err != nil {
		return nil, fmt.Errorf("token subject: %w", err)
	}
	if !domain.ValidShopDomain(claims.Shop) {
		return nil, errors.New("token names no shop")
	}
	return claims, nil
}

// maxVerifiedTokens bounds the memory verifiedTokens can take: about 1 KiB
// per token, and only tokens signed by this key get in.
const maxVerifiedTokens = 10_000

// verifiedTokens remembers tokens that passed verification, keyed by the
// SHA-256 of the whole token, so a token costs one RSA check rather than one
// per request. Only the validity window depends on the time, so a hit
// rechecks just that; a different byte anywhere is a different key.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[[sha256.Size]byte]*AccessClaims
}

func (v *verifiedTokens) get(sum [sha256.Size]byte, now time.Time) (*AccessClaims, bool) {
	v.mu.RLock()
	claims, ok := v.m[sum]
	v.mu.RUnlock()
	if !ok || !validAt(claims, now) {
		return nil, false
	}
	c := *claims // callers may change their copy
	return &c, true
}

// put adds a verified token; when full it first drops expired tokens, and if
// none have expired the token is simply not remembered.
func (v *verifiedTokens) put(sum [sha256.Size]byte, claims *AccessClaims, now time.Time) {
	c := *claims
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerifiedTokens {
		for k, old := range v.m {
			if !old.ExpiresAt.After(now) {
				delete(v.m, k)
			}
		}
		if len(v.m) >= maxVerifiedTokens {
			return
		}
	}
	v.m[sum] = &c
}

// validAt is the time part of verify: now in [iat, exp) and not before nbf.
func validAt(c *AccessClaims, now time.Time) bool {
	if c.NotBefore != nil && now.Before(c.NotBefore.Time) || c.IssuedAt != nil && now.Before(c.IssuedAt.Time) {
		return false
	}
	return now.Before(c.ExpiresAt.Time)
}

// JWK is one public key in the JWKS document.
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS returns the public key set that verifies access tokens.
func (k *Keys) JWKS() map[string][]JWK {
	pub := k.priv.PublicKey
	return map[string][]JWK{"keys": {{
		Kty: "RSA", Use: "sig", Alg: "RS256", Kid: k.kid,
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}
