package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/eventstore"
	"github.com/ordermill/ordermill/internal/telemetry"
)

// Principal kinds.
const (
	KindUser  = "user"
	KindToken = "token"
)

// apiTokenPrefix tells API tokens apart from JWTs in the same Authorization header.
const apiTokenPrefix = "omt_"

// Principal is who a request acts for: a signed-in user or an API token, always
// within exactly one shop.
type Principal struct {
	Kind  string // KindUser or KindToken
	ID    uuid.UUID
	Shop  string
	Role  domain.Role
	Email string // users only
	// Owner is the user whose authority this is: the user, or the user a
	// token derives from. Tokens it creates derive from the same user.
	Owner uuid.UUID
}

// Actor names the principal in event metadata ("user:<id>", "token:<id>").
func (p Principal) Actor() string { return p.Kind + ":" + p.ID.String() }

const principalKey = "principal"

// principalFrom returns the principal authenticate stored; handlers behind
// authenticate always have one.
func principalFrom(c *gin.Context) Principal {
	p, _ := c.Get(principalKey)
	pr, _ := p.(Principal)
	return pr
}

// authenticate accepts "Authorization: Bearer <JWT>" (RS256, live session) or
// "Bearer omt_..." (API token), stores the principal and applies its rate
// limit. Anything else is 401; the reason is logged, never told to the caller.
func (s *server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		scheme, cred, _ := strings.Cut(c.GetHeader("Authorization"), " ")
		cred = strings.TrimSpace(cred)
		if !strings.EqualFold(scheme, "Bearer") || cred == "" {
			s.unauthorized(c, "missing bearer credentials")
			return
		}
		var (
			p   Principal
			err error
		)
		if strings.HasPrefix(cred, apiTokenPrefix) {
			p, err = s.tokenPrincipal(c, cred)
		} else {
			p, err = s.jwtPrincipal(c, cred)
		}
		if errors.Is(err, errUnavailable) {
			s.Logger.ErrorContext(c.Request.Context(), "authenticate", "err", err)
			abortProblem(c, http.StatusServiceUnavailable, "authentication is unavailable, retry shortly")
			return
		}
		if err != nil {
			s.rejectCredentials(c, err.Error())
			return
		}
		c.Set(principalKey, p)
		logPrincipal(c, p)
		if !s.allow(c, "principal:"+p.Actor(), s.Limits.Principal) {
			return
		}
		c.Next()
	}
}

// errUnavailable marks failures of our own storage, as opposed to bad credentials.
var errUnavailable = errors.New("credential store unavailable")

// rejectCredentials answers a bearer credential that was presented and
// refused: 401, or 429 once the client IP has presented too many (someone
// guessing, or a client stuck retrying an expired token). Valid credentials
// never spend this budget, so an attacker sharing a user's address cannot
// lock the user out. When Redis fails the 401 goes through: JWTs need Redis
// for their session check anyway, and API tokens keep working without it.
func (s *server) rejectCredentials(c *gin.Context, reason string) {
	if s.allow(c, "auth-failures:"+c.ClientIP(), s.Limits.AuthFailures) {
		s.unauthorized(c, reason)
		return
	}
	s.Logger.InfoContext(c.Request.Context(), "authentication failed", "reason", reason, "throttled", true,
		"request_id", c.GetString("request_id"))
}

func (s *server) unauthorized(c *gin.Context, reason string) {
	s.Logger.InfoContext(c.Request.Context(), "authentication failed", "reason", reason,
		"request_id", c.GetString("request_id"))
	c.Header("WWW-Authenticate", `Bearer realm="ordermill"`)
	abortProblem(c, http.StatusUnauthorized, "missing, invalid or expired credentials")
}

func (s *server) jwtPrincipal(c *gin.Context, token string) (Principal, error) {
	claims, err := s.Keys.Verify(token, time.Now())
	if err != nil {
		return Principal{}, err
	}
	// A JWT outlives logout unless its session is checked: one Redis read buys
	// immediate logout, reuse detection and deactivation.
	alive, err := s.sessionAlive(c.Request.Context(), claims.Session)
	if err != nil {
		return Principal{}, errors.Join(errUnavailable, err)
	}
	if !alive {
		return Principal{}, errors.New("session ended")
	}
	id := uuid.MustParse(claims.Subject)
	return Principal{Kind: KindUser, ID: id, Shop: claims.Shop, Role: claims.Role, Email: claims.Email, Owner: id}, nil
}

// tokenPrincipal authenticates an API token together with the user it
// derives from, in one query: the domain decides whether that user still
// backs it (APIToken.UsableBy). A token without an owner row is unknown.
func (s *server) tokenPrincipal(c *gin.Context, secret string) (Principal, error) {
	var (
		tok     domain.APITokenRecord
		expires *time.Time
		owner   userRow
	)
	err := s.Store.Pool().QueryRow(c.Request.Context(),
		`SELECT t.id, t.shop, t.name, t.role, t.token_hash, t.prefix, t.expires_at, t.revoked_at IS NOT NULL, t.version,
			u.id, u.shop, u.email, u.name, u.role, u.active, u.version
		FROM api_tokens t JOIN users u ON u.id = t.owner_id WHERE t.token_hash = $1`,
		hashSecret(secret)).Scan(&tok.ID, &tok.Shop, &tok.Name, &tok.Role, &tok.TokenHash, &tok.Prefix, &expires,
		&tok.Revoked, &tok.Version, &owner.ID, &owner.Shop, &owner.Email, &owner.Name, &owner.Role, &owner.Active, &owner.Version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Principal{}, errors.New("unknown api token")
	case err != nil:
		return Principal{}, errors.Join(errUnavailable, err)
	}
	if expires != nil {
		tok.ExpiresAt = *expires
	}
	t, now := domain.APITokenFromRecord(tok), time.Now()
	if !t.Usable(now) {
		return Principal{}, errors.New("api token revoked or expired")
	}
	if !t.UsableBy(owner.domainUser(), now) {
		return Principal{}, errors.New("api token's owner deactivated or no longer holds its role")
	}
	return Principal{Kind: KindToken, ID: t.ID(), Shop: t.Shop(), Role: t.Role(), Owner: owner.ID}, nil
}

// hashSecret is how API token secrets are stored and looked up: they are random
// and long, so a fast unsalted hash is enough.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// require lets the request through only when the principal's role grants p.
func (s *server) require(p domain.Permission) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !principalFrom(c).Role.Can(p) {
			abortProblem(c, http.StatusForbidden, "not allowed")
			return
		}
		c.Next()
	}
}

// eventMeta is the metadata of events a request appends: who, which request.
func eventMeta(c *gin.Context) eventstore.Metadata {
	id := c.GetString("request_id")
	return eventstore.Metadata{
		Actor: principalFrom(c).Actor(), RequestID: id, CorrelationID: correlationID(c), Source: "api",
		TraceParent: telemetry.TraceParent(c.Request.Context()),
	}
}

// identityRoutes registers sign-in, the key set, the profile, users and tokens.
func (s *server) identityRoutes(r *gin.Engine) {
	r.GET("/.well-known/jwks.json", s.limitIP(), s.jwks)
	auth := r.Group("/auth", s.limitIP())
	auth.POST("/login", s.login)
	auth.POST("/refresh", s.refresh)
	auth.POST("/logout", s.logout)

	v1 := r.Group("/api/v1", s.authenticate())
	v1.GET("/profile", s.profile)
	users := v1.Group("/users", s.require(domain.PermManageUsers))
	users.GET("", s.listUsers)
	users.POST("", s.createUser)
	users.PATCH("/:id", s.updateUser)
	users.DELETE("/:id", s.deactivateUser)
	tokens := v1.Group("/tokens", s.require(domain.PermManageTokens))
	tokens.GET("", s.listTokens)
	tokens.POST("", s.createToken)
	tokens.DELETE("/:id", s.revokeToken)
}
