package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
)

// RateLimits are the request budgets enforced in Redis (GCRA, shared by every
// API process). A zero limit switches that check off.
type RateLimits struct {
	Principal redis_rate.Limit // per user or API token, on authenticated routes
	IP        redis_rate.Limit // per client IP, on unauthenticated routes
	Login     redis_rate.Limit // per client IP and, separately, per account on login
	// Failures per client IP: only rejected webhooks and bearer tokens spend
	// them, so a valid one is never refused by these.
	WebhookFailures redis_rate.Limit
	AuthFailures    redis_rate.Limit
}

// allow spends one request of key's budget. Over budget it answers 429 with
// Retry-After and returns false. If Redis fails the request goes through:
// limits protect capacity, they are not worth an outage.
func (s *server) allow(c *gin.Context, key string, limit redis_rate.Limit) bool {
	if limit.IsZero() {
		return true
	}
	res, err := s.limiter.Allow(c.Request.Context(), s.Prefix+key, limit)
	if err != nil {
		s.Logger.WarnContext(c.Request.Context(), "rate limit check failed", "err", err, "key", key)
		return true
	}
	c.Header("RateLimit-Remaining", strconv.Itoa(res.Remaining))
	if res.Allowed > 0 {
		return true
	}
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(res.RetryAfter.Seconds())))))
	abortProblem(c, http.StatusTooManyRequests, "rate limit exceeded, retry later")
	return false
}

// limitIP is the per-IP budget of unauthenticated routes.
func (s *server) limitIP() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.allow(c, "ip:"+c.ClientIP(), s.Limits.IP) {
			c.Next()
		}
	}
}

// allowLogin throttles password guessing both from one address and against
// one account (from many addresses).
func (s *server) allowLogin(c *gin.Context, email string) bool {
	return s.allow(c, "login-ip:"+c.ClientIP(), s.Limits.Login) &&
		s.allow(c, "login-account:"+hashSecret(strings.ToLower(strings.TrimSpace(email))), s.Limits.Login)
}
