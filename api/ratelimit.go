package api

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// RateLimits are the request budgets enforced in Redis (GCRA, shared by every
// API process). A zero limit switches that check off.
type RateLimits struct {
	Principal redis_rate.Limit // per user or API token, on authenticated routes
	IP        redis_rate.Limit // per client IP, on unauthenticated routes
	Login     redis_rate.Limit // sign-in attempts per client IP, whatever the account
	// Failures per client IP: only rejected webhooks and bearer tokens spend
	// them, so a valid one is never refused by these.
	WebhookFailures redis_rate.Limit
	AuthFailures    redis_rate.Limit
}

// spend takes one request from key's budget. Over budget it answers 429 with
// Retry-After and returns false; a Redis failure is returned for the caller
// to decide on.
func (s *server) spend(c *gin.Context, key string, limit redis_rate.Limit) (bool, error) {
	if limit.IsZero() {
		return true, nil
	}
	res, err := s.limiter.Allow(c.Request.Context(), s.Prefix+key, limit)
	if err != nil {
		return false, err
	}
	setRateLimitHeaders(c, res)
	if res.Allowed > 0 {
		return true, nil
	}
	tooMany(c, res.RetryAfter, "rate limit exceeded, retry later")
	return false, nil
}

func tooMany(c *gin.Context, wait time.Duration, detail string) {
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	abortProblem(c, http.StatusTooManyRequests, detail)
}

// allow spends one request of key's budget. If Redis fails the request goes
// through: these limits protect capacity, they are not worth an outage.
// Sign-in is the exception (allowLogin).
func (s *server) allow(c *gin.Context, key string, limit redis_rate.Limit) bool {
	ok, err := s.spend(c, key, limit)
	if err != nil {
		s.Logger.WarnContext(c.Request.Context(), "rate limit check failed", "err", err, "key", key)
		return true
	}
	return ok
}

// setRateLimitHeaders tells the caller its budget with the IETF RateLimit
// header fields: the quota, what is left of it, and the seconds until it is
// whole again. A request checked against two budgets reports the one with
// less left.
func setRateLimitHeaders(c *gin.Context, res *redis_rate.Result) {
	h := c.Writer.Header()
	if left, err := strconv.Atoi(h.Get("RateLimit-Remaining")); err == nil && left < res.Remaining {
		return
	}
	h.Set("RateLimit-Limit", strconv.Itoa(res.Limit.Burst))
	h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
	h.Set("RateLimit-Reset", strconv.Itoa(int(math.Ceil(res.ResetAfter.Seconds()))))
}

// limitIP is the per-IP budget of unauthenticated routes.
func (s *server) limitIP() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.allow(c, "ip:"+c.ClientIP(), s.Limits.IP) {
			c.Next()
		}
	}
}

// Sign-in throttling. A hard per-account budget let anyone lock the owner out
// by guessing from a few addresses, so failures count per (account, client)
// pair instead, with delays that grow with each failure: guessers slow down
// only themselves, and the owner signing in from their own address is never
// held up by them. Every address also has one budget across all accounts
// (RateLimits.Login). A distributed guesser gets a few tries per address,
// which the password policy (12 characters, no common password) makes
// worthless.
const (
	// loginFreeFailures failures in a row from one client cost nothing: typos.
	loginFreeFailures = 5
	// loginBaseDelay is the wait after the first failure past the free ones;
	// it doubles with each further failure, up to loginMaxDelay.
	loginBaseDelay = time.Second
	loginMaxDelay  = 15 * time.Minute
	// loginFailureMemory is how long a pair's failures are remembered after
	// its last attempt.
	loginFailureMemory = 24 * time.Hour
	// loginRetryAfter is what a client is told to wait while Redis, which
	// holds the counts, cannot be reached.
	loginRetryAfter = 5 * time.Second
)

// loginAttemptScript counts an attempt of one (account, client) pair as a
// failure before the password is checked, so parallel guesses cannot slip in
// before their failures are recorded; a success deletes the count. It returns
// the milliseconds to wait, 0 when the attempt may go ahead. The time is
// Redis's, the same for every API process.
var loginAttemptScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'fails', 'until')
local fails = tonumber(state[1]) or 0
local wait = (tonumber(state[2]) or 0) - now
if wait > 0 then return wait end
fails = fails + 1
local delay = 0
local free = tonumber(ARGV[1])
if fails > free then
  delay = math.min(tonumber(ARGV[2]) * 2 ^ math.min(fails - free - 1, 30), tonumber(ARGV[3]))
end
redis.call('HSET', KEYS[1], 'fails', fails, 'until', math.floor(now + delay))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0
`)

// loginKeys are the Redis keys of a sign-in attempt: the client's budget and
// the (account, client) pair's failures. The account is hashed so keys never
// hold an email.
func (s *server) loginKeys(c *gin.Context, shop, email string) (ipKey, pairKey string) {
	client := clientKey(c.ClientIP())
	return "login-ip:" + client, s.Prefix + "login-fail:" + hashSecret(shop+"\n"+email) + ":" + client
}

// allowLogin runs before the password is checked, for known and unknown
// accounts alike. Throttled, it answers 429 with Retry-After. Unlike the
// other limits it fails closed: without Redis, wrong passwords would go
// unthrottled, so every attempt, right or wrong, gets 503 with Retry-After.
func (s *server) allowLogin(c *gin.Context, shop, email string) bool {
	ipKey, pairKey := s.loginKeys(c, shop, email)
	ok, err := s.spend(c, ipKey, s.Limits.Login)
	if err == nil && ok {
		var wait int64
		wait, err = loginAttemptScript.Run(c.Request.Context(), s.Redis, []string{pairKey}, loginFreeFailures,
			loginBaseDelay.Milliseconds(), loginMaxDelay.Milliseconds(), loginFailureMemory.Milliseconds()).Int64()
		if err == nil && wait > 0 {
			tooMany(c, time.Duration(wait)*time.Millisecond, "too many failed sign-ins for this account from this address, retry later")
			return false
		}
	}
	if err != nil {
		s.loginUnavailable(c, err)
		return false
	}
	return ok
}

// loginSucceeded forgets the pair's failures, so the owner's own typos never
// add up across days.
func (s *server) loginSucceeded(ctx context.Context, c *gin.Context, shop, email string) error {
	_, pairKey := s.loginKeys(c, shop, email)
	return s.Redis.Del(ctx, pairKey).Err()
}

func (s *server) loginUnavailable(c *gin.Context, err error) {
	s.Logger.ErrorContext(c.Request.Context(), "sign-in unavailable", "err", err, "request_id", c.GetString("request_id"))
	c.Header("Retry-After", strconv.Itoa(int(loginRetryAfter.Seconds())))
	abortProblem(c, http.StatusServiceUnavailable, "sign-in is unavailable, retry shortly")
}

// clientKey is the address a client is counted by: an IPv6 client usually
// holds a whole /64, so it counts as one.
func clientKey(ip string) string {
	addr := net.ParseIP(ip)
	if addr == nil || addr.To4() != nil {
		return ip
	}
	return addr.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
