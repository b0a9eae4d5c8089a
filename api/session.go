package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/ordermill/ordermill/domain"
)

// refreshTTL is how long a refresh token, and a session that keeps refreshing,
// lives.
const refreshTTL = 7 * 24 * time.Hour

// A session is one sign-in: a family of refresh tokens, each spent when used.
// Redis keys (the {family} hash tag keeps a family in one cluster slot, so the
// rotation script may touch all of them):
//
//	<prefix>session:{<family>}           user id while the session lives
//	<prefix>session:{<family>}:<sha256>  "live" or "spent", one per refresh token
//	<prefix>user-sessions:<user id>      the user's families, to end them all
func (s *server) familyKey(family string) string { return s.Prefix + "session:{" + family + "}" }

func (s *server) refreshKey(family, secret string) string {
	return s.familyKey(family) + ":" + hashSecret(secret)
}

func (s *server) userSessionsKey(userID uuid.UUID) string {
	return s.Prefix + "user-sessions:" + userID.String()
}

// newRefreshToken returns "<family>.<secret>": the family is needed to find
// the session, the secret proves possession.
func newRefreshToken(family string) (token, secret string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	return family + "." + secret, secret
}

func parseRefreshToken(token string) (family, secret string, ok bool) {
	family, secret, ok = strings.Cut(token, ".")
	if _, err := uuid.Parse(family); err != nil || secret == "" || len(secret) > 64 {
		return "", "", false
	}
	return family, secret, ok
}

// startSession opens a new refresh-token family for the user.
func (s *server) startSession(ctx context.Context, userID uuid.UUID) (family, refresh string, err error) {
	family = uuid.NewString()
	refresh, secret := newRefreshToken(family)
	// The user's list of families first, so that every live family is on
	// it. It lives in another hash slot than the family's keys, which Redis
	// Cluster cannot write in one transaction.
	_, err = s.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, s.userSessionsKey(userID), family)
		p.Expire(ctx, s.userSessionsKey(userID), refreshTTL)
		return nil
	})
	if err == nil {
		_, err = s.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, s.familyKey(family), userID.String(), refreshTTL)
			p.Set(ctx, s.refreshKey(family, secret), "live", refreshTTL)
			return nil
		})
	}
	if err != nil {
		return "", "", fmt.Errorf("start session: %w", err)
	}
	return family, refresh, nil
}

// rotateScript spends a live refresh token and stores its successor, or, when
// the token was already spent, ends the whole family: a spent token coming
// back means it was copied, and we cannot tell the thief from the owner.
// Returns {1, user} rotated, {-1, user} reuse detected, {0, ""} unknown.
var rotateScript = redis.NewScript(`
local user = redis.call('GET', KEYS[1])
if not user then return {0, ''} end
local state = redis.call('GET', KEYS[2])
if not state then return {0, ''} end
if state ~= 'live' then
  redis.call('DEL', KEYS[1])
  return {-1, user}
end
redis.call('SET', KEYS[2], 'spent', 'KEEPTTL')
redis.call('SET', KEYS[3], 'live', 'EX', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return {1, user}
`)

var (
	errRefreshUnknown = errors.New("unknown or expired refresh token")
	errRefreshReused  = errors.New("spent refresh token reused; session revoked")
)

// rotate spends refresh and returns its successor and the session's user.
func (s *server) rotate(ctx context.Context, refresh string) (userID uuid.UUID, family, next string, err error) {
	family, secret, ok := parseRefreshToken(refresh)
	if !ok {
		return uuid.Nil, "", "", errRefreshUnknown
	}
	next, nextSecret := newRefreshToken(family)
	res, err := rotateScript.Run(ctx, s.Redis,
		[]string{s.familyKey(family), s.refreshKey(family, secret), s.refreshKey(family, nextSecret)},
		int(refreshTTL.Seconds())).Slice()
	if err != nil {
		return uuid.Nil, "", "", errors.Join(errUnavailable, err)
	}
	outcome, _ := res[0].(int64)
	user, _ := res[1].(string)
	switch outcome {
	case 1:
		id, err := uuid.Parse(user)
		return id, family, next, err
	case -1:
		return uuid.Nil, "", "", errRefreshReused
	}
	return uuid.Nil, "", "", errRefreshUnknown
}

// sessionAlive reports whether the session an access token belongs to is still open.
func (s *server) sessionAlive(ctx context.Context, family string) (bool, error) {
	if _, err := uuid.Parse(family); err != nil {
		return false, nil
	}
	n, err := s.Redis.Exists(ctx, s.familyKey(family)).Result()
	return n == 1, err
}

// endUserSessions signs a user out everywhere, so a role change or a
// deactivation takes effect at once rather than when access tokens expire.
func (s *server) endUserSessions(ctx context.Context, userID uuid.UUID) error {
	families, err := s.Redis.SMembers(ctx, s.userSessionsKey(userID)).Result()
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	keys := []string{s.userSessionsKey(userID)}
	for _, f := range families {
		keys = append(keys, s.familyKey(f))
	}
	// One DEL per key: families live in different cluster slots.
	_, err = s.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, k)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}

type loginRequest struct {
	Shop     string `json:"shop"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// newPlaceholderHash is what an unknown account's password is compared
// against, hashed at the configured cost so that a sign-in costs the same
// whether or not the account exists. Its password is random: nothing matches.
func newPlaceholderHash(cost int) []byte {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	pw := make([]byte, 32)
	_, _ = rand.Read(pw)
	hash, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		panic("placeholder password hash: " + err.Error()) // only an out-of-range cost, which config refuses
	}
	return hash
}

// login signs a user of one shop in. Users are identified by shop and email,
// since an email is unique only within its shop; an unknown shop or email
// answers exactly as a wrong password does. The throttle runs before the
// password is looked at (allowLogin).
func (s *server) login(c *gin.Context) {
	var req loginRequest
	if !bindJSON(c, &req) {
		return
	}
	shop := strings.ToLower(strings.TrimSpace(req.Shop))
	email := strings.ToLower(strings.TrimSpace(req.Email))
	var fields []FieldError
	switch {
	case shop == "":
		fields = append(fields, FieldError{Field: "shop", Message: "is required"})
	case !domain.ValidShopDomain(shop):
		fields = append(fields, FieldError{Field: "shop", Message: "must be a shop domain like demo.myshopify.com"})
	}
	if email == "" {
		fields = append(fields, FieldError{Field: "email", Message: "is required"})
	}
	if req.Password == "" {
		fields = append(fields, FieldError{Field: "password", Message: "is required"})
	}
	if len(fields) > 0 {
		abortProblem(c, http.StatusUnprocessableEntity, "the request has invalid fields", fields...)
		return
	}
	if !s.allowLogin(c, shop, email) {
		return
	}
	ctx := c.Request.Context()
	u, err := s.userByEmail(ctx, shop, email)
	if errors.Is(err, errNotFound) {
		_ = bcrypt.CompareHashAndPassword(s.placeholderHash, []byte(req.Password))
		s.unauthorized(c, "unknown shop or email")
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	if !u.domainUser().CheckPassword(req.Password) {
		s.unauthorized(c, "wrong password or user deactivated")
		return
	}
	family, refresh, err := s.startSession(ctx, u.ID)
	if err == nil {
		err = s.loginSucceeded(ctx, c, shop, email)
	}
	if err != nil {
		s.loginUnavailable(c, err)
		return
	}
	s.issueTokens(c, u, family, refresh)
}

func (s *server) issueTokens(c *gin.Context, u userRow, family, refresh string) {
	access, err := s.Keys.Issue(u.ID, u.Shop, u.Role, u.Email, family, time.Now())
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, tokenResponse{
		AccessToken: access, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int(accessTokenTTL.Seconds()),
	})
}

func (s *server) refresh(c *gin.Context) {
	var req refreshRequest
	if !bindJSON(c, &req) {
		return
	}
	ctx := c.Request.Context()
	userID, family, next, err := s.rotate(ctx, req.RefreshToken)
	if errors.Is(err, errUnavailable) {
		s.problemFromError(c, err)
		return
	}
	if errors.Is(err, errRefreshReused) {
		s.Logger.WarnContext(ctx, "refresh token reuse", "request_id", c.GetString("request_id"), "ip", c.ClientIP())
	}
	if err != nil {
		s.unauthorized(c, err.Error())
		return
	}
	// The role and the active flag come from the users table, not the old
	// token, so changes apply at the latest on the next refresh.
	u, err := s.userByID(ctx, userID)
	if err == nil && !u.domainUser().Active() {
		err = errNotFound
	}
	if errors.Is(err, errNotFound) {
		_ = s.endUserSessions(ctx, userID)
		s.unauthorized(c, "user gone or deactivated")
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	s.issueTokens(c, u, family, next)
}

// logout ends the session the refresh token belongs to. It answers 204 for any
// well-formed request so it reveals nothing about the token.
func (s *server) logout(c *gin.Context) {
	var req refreshRequest
	if !bindJSON(c, &req) {
		return
	}
	ctx := c.Request.Context()
	if family, secret, ok := parseRefreshToken(req.RefreshToken); ok {
		n, err := s.Redis.Exists(ctx, s.refreshKey(family, secret)).Result()
		if err == nil && n == 1 {
			err = s.Redis.Del(ctx, s.familyKey(family)).Err()
		}
		if err != nil {
			s.problemFromError(c, err)
			return
		}
	}
	c.Status(http.StatusNoContent)
}

func (s *server) jwks(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.JSON(http.StatusOK, s.Keys.JWKS())
}
