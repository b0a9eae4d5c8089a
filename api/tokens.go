package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/domain"
)

// tokenRow is an api_tokens row as listed; the secret itself is never stored.
type tokenRow struct {
	ID        uuid.UUID   `json:"id"`
	Name      string      `json:"name"`
	Role      domain.Role `json:"role"`
	Prefix    string      `json:"prefix"`
	CreatedBy string      `json:"created_by"`
	CreatedAt time.Time   `json:"created_at"`
	ExpiresAt *time.Time  `json:"expires_at"`
	RevokedAt *time.Time  `json:"revoked_at"`
}

const tokenColumns = `id, name, role, prefix, created_by, created_at, expires_at, revoked_at`

func scanToken(row pgx.Row) (tokenRow, error) {
	var t tokenRow
	err := row.Scan(&t.ID, &t.Name, &t.Role, &t.Prefix, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, errNotFound
	}
	return t, err
}

type createTokenRequest struct {
	Name      string      `json:"name"`
	Role      domain.Role `json:"role"`
	ExpiresAt *time.Time  `json:"expires_at"`
}

// createToken makes an API token and answers its secret, the only time it is shown.
func (s *server) createToken(c *gin.Context) {
	var req createTokenRequest
	if !bindJSON(c, &req) {
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := apiTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	p := principalFrom(c)
	cmd := domain.CreateAPITokenCommand{
		TokenID: uuid.New(), Shop: p.Shop, Name: req.Name, Role: req.Role,
		TokenHash: hashSecret(secret), Prefix: secret[:12], At: time.Now(),
	}
	if req.ExpiresAt != nil {
		cmd.ExpiresAt = *req.ExpiresAt
	}
	e, err := s.app.CreateAPIToken(c.Request.Context(), callerOf(c),
		app.NewAPIToken{CreateAPITokenCommand: cmd, CreatedBy: p.Actor(), Owner: p.Owner})
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	t, err := s.tokenByID(c, e.TokenID)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.Header("Location", "/api/v1/tokens/"+t.ID.String())
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, struct {
		tokenRow
		Token string `json:"token"`
	}{t, secret})
}

func (s *server) tokenByID(c *gin.Context, id uuid.UUID) (tokenRow, error) {
	return scanToken(s.Store.Pool().QueryRow(c.Request.Context(),
		`SELECT `+tokenColumns+` FROM api_tokens WHERE id = $1 AND shop = $2`, id, principalFrom(c).Shop))
}

func (s *server) listTokens(c *gin.Context) {
	rows, err := s.Store.Pool().Query(c.Request.Context(),
		`SELECT `+tokenColumns+` FROM api_tokens WHERE shop = $1 ORDER BY created_at, id`, principalFrom(c).Shop)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	tokens, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tokenRow, error) { return scanToken(r) })
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": tokens})
}

func (s *server) revokeToken(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := s.app.RevokeAPIToken(c.Request.Context(), callerOf(c), id, (*domain.APIToken).Revoke); err != nil {
		s.problemFromError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// revokeUnbackedTokens revokes the tokens that derive from owner and that
// owner, deactivated or given a lesser role, no longer backs. Each use checks
// the same (tokenPrincipal), so a revocation lost to a crash changes nothing.
func (s *server) revokeUnbackedTokens(c *gin.Context, owner *domain.User) error {
	rows, err := s.Store.Pool().Query(c.Request.Context(),
		`SELECT id FROM api_tokens WHERE owner_id = $1 AND revoked_at IS NULL`, owner.ID())
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.app.RevokeAPIToken(c.Request.Context(), callerOf(c), id, func(t *domain.APIToken, now time.Time) ([]domain.Event, error) {
			return t.RevokeForOwner(owner, now)
		}); err != nil {
			return fmt.Errorf("revoke token %s: %w", id, err)
		}
	}
	return nil
}
