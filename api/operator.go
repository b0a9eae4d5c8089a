package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// KindOperator is the platform's operator. The operator belongs to no shop:
// no user or API token is one, and only the operator credential
// (ORDERMILL_OPERATOR_TOKEN) makes one, on the operator routes alone.
const KindOperator = "operator"

// OperatorTokenHash is how Deps carries the operator's bearer token: its
// SHA-256, so the process compares hashes and never holds a token to leak.
func OperatorTokenHash(token string) []byte {
	if token == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// operatorRoutes are the actions over every shop at once: rebuilding a read
// model (it rewrites every shop's rows, and its diff shows them) and
// verifying the whole log (its counts and findings span every shop). Shop
// users are answered 403; each shop verifies its own streams on
// GET /audit/verify.
func (s *server) operatorRoutes(r *gin.Engine) {
	op := r.Group("/api/v1", s.authenticateOperator(), s.requireOperator())
	op.POST("/audit/verify", s.runVerify)
	op.POST("/audit/rebuild", s.rebuildReadModel)
}

// authenticateOperator admits the operator's bearer token; any other
// credential is authenticated as a shop's (and then refused by
// requireOperator), so a shop user learns 403, not that the route differs.
func (s *server) authenticateOperator() gin.HandlerFunc {
	shopUser := s.authenticate()
	return func(c *gin.Context) {
		if !s.isOperator(c.GetHeader("Authorization")) {
			shopUser(c)
			return
		}
		p := Principal{Kind: KindOperator}
		c.Set(principalKey, p)
		logPrincipal(c, p)
		if s.allow(c, "principal:"+p.Actor(), s.Limits.Principal) {
			c.Next()
		}
	}
}

// isOperator compares hashes in constant time: the time taken says nothing
// about how much of a guess was right.
func (s *server) isOperator(authorization string) bool {
	if len(s.OperatorTokenHash) == 0 {
		return false
	}
	scheme, cred, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(cred)))
	return subtle.ConstantTimeCompare(sum[:], s.OperatorTokenHash) == 1
}

func (s *server) requireOperator() gin.HandlerFunc {
	return func(c *gin.Context) {
		if principalFrom(c).Kind != KindOperator {
			abortProblem(c, http.StatusForbidden, "not allowed: an operator action, not a shop's")
			return
		}
		c.Next()
	}
}
