package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
)

const headerIdempotencyKey = "Idempotency-Key"

// storedResponse is a write's answer, kept so a retry with the same
// Idempotency-Key gets exactly the same one.
type storedResponse struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

func (r storedResponse) write(c *gin.Context) {
	for k, v := range r.Headers {
		c.Header(k, v)
	}
	c.Data(r.Status, "application/json; charset=utf-8", r.Body)
}

// jsonResponse renders v once, so the bytes answered and stored are the same.
func jsonResponse(status int, headers map[string]string, v any) (storedResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return storedResponse{}, fmt.Errorf("encode response: %w", err)
	}
	return storedResponse{Status: status, Headers: headers, Body: b}, nil
}

// errKeyRace means a concurrent request with the same key committed first.
var errKeyRace = errors.New("idempotency key stored by a concurrent request")

// idempotentWrite runs write in a transaction and answers with its response.
// With an Idempotency-Key the response is stored in that same transaction,
// and a retry within 24 hours replays it instead of writing again; the same
// key with a different request (method, route, decoded body) is 422.
func (s *server) idempotentWrite(c *gin.Context, shop string, req any,
	write func(ctx context.Context, tx pgx.Tx) (storedResponse, error)) {
	ctx := c.Request.Context()
	key := c.GetHeader(headerIdempotencyKey)
	if len(key) > 255 {
		abortProblem(c, http.StatusBadRequest, "Idempotency-Key must be at most 255 characters")
		return
	}
	var hash []byte
	if key != "" {
		body, err := json.Marshal(req)
		if err != nil {
			s.problemFromError(c, fmt.Errorf("hash request: %w", err))
			return
		}
		sum := sha256.Sum256(append([]byte(c.Request.Method+" "+c.FullPath()+"\n"), body...))
		hash = sum[:]
		if s.replayed(c, shop, key, hash) {
			return
		}
	}
	var resp storedResponse
	err := s.Store.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if resp, err = write(ctx, tx); err != nil || key == "" {
			return err
		}
		headers, err := json.Marshal(resp.Headers)
		if err != nil {
			return err
		}
		// An expired key is taken over; a live one means another request won.
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (shop, key, request_hash, status, headers, body)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (shop, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status,
				headers = EXCLUDED.headers, body = EXCLUDED.body, created_at = now()
			WHERE idempotency_keys.created_at < now() - interval '24 hours'`,
			shop, key, hash, resp.Status, headers, resp.Body)
		if err == nil && tag.RowsAffected() == 0 {
			err = errKeyRace
		}
		return err
	})
	switch {
	case errors.Is(err, errKeyRace):
		if !s.replayed(c, shop, key, hash) {
			s.problemFromError(c, fmt.Errorf("idempotency key %q vanished after a race", key))
		}
	case err != nil:
		s.problemFromError(c, err)
	default:
		resp.write(c)
	}
}

// replayed answers from a live stored key and reports whether it did.
func (s *server) replayed(c *gin.Context, shop, key string, hash []byte) bool {
	var (
		stored  []byte
		resp    storedResponse
		headers []byte
	)
	// The primary, not a replica: the key must be seen as soon as it commits.
	err := s.Store.Pool().QueryRow(c.Request.Context(), `SELECT request_hash, status, headers, body FROM idempotency_keys
		WHERE shop = $1 AND key = $2 AND created_at >= now() - interval '24 hours'`, shop, key).
		Scan(&stored, &resp.Status, &headers, &resp.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	if err == nil {
		err = json.Unmarshal(headers, &resp.Headers)
	}
	switch {
	case err != nil:
		s.problemFromError(c, fmt.Errorf("idempotency key: %w", err))
	case !bytes.Equal(stored, hash):
		abortProblem(c, http.StatusUnprocessableEntity, "this Idempotency-Key was used with a different request")
	default:
		c.Header("Idempotent-Replayed", "true")
		resp.write(c)
	}
	return true
}
