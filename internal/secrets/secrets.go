// Package secrets seals small values (webhook secrets, access tokens, data
// keys) with AES-256-GCM under the master key from the environment.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key length: AES-256.
const KeySize = 32

// ErrOpen means a sealed value did not decrypt: wrong key, wrong context or
// altered bytes.
var ErrOpen = errors.New("secrets: cannot open sealed value")

// Key seals and opens values.
type Key struct {
	aead cipher.AEAD
}

// NewKey returns a key from KeySize raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("secrets: key is %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{aead: aead}, nil
}

// ParseKey reads a base64-encoded key, as ORDERMILL_MASTER_KEY holds it.
func ParseKey(encoded string) (*Key, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return nil, fmt.Errorf("secrets: key is not base64: %w", err)
	}
	return NewKey(raw)
}

// LoadKey returns the configured master key or, when none is configured,
// the one in <dataDir>/master.key, generated (mode 0600) on first use so a
// developer machine needs no setup. Production sets the key explicitly: a
// lost generated key makes every sealed value unreadable.
func LoadKey(configured, dataDir string) (*Key, error) {
	if configured != "" {
		return ParseKey(configured)
	}
	path := filepath.Join(dataDir, "master.key")
	b, err := os.ReadFile(path)
	if err == nil {
		return ParseKey(string(b))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	// O_EXCL: a concurrent first start keeps whichever key was written first.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKey("", dataDir)
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n"); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return NewKey(raw)
}

// Seal encrypts plaintext, bound to context (e.g. "shop:<domain>:webhook_secret")
// so a sealed value copied to another row or field does not open.
func (k *Key) Seal(plaintext []byte, context string) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return k.aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// Open decrypts what Seal returned for the same context.
func (k *Key) Open(sealed []byte, context string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
