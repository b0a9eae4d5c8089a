package shopify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SessionTokenLeeway is the clock skew allowed on a session token's exp and
// nbf; the tokens live one minute.
const SessionTokenLeeway = 10 * time.Second

// ErrBadSessionToken means an App Bridge session token failed verification.
var ErrBadSessionToken = errors.New("invalid session token")

// SessionClaims are the claims of an App Bridge session token.
type SessionClaims struct {
	Dest string `json:"dest"` // https://<shop>
	Sid  string `json:"sid"`
	jwt.RegisteredClaims
}

// VerifySessionToken checks a session token the embedded app sent: HS256
// signed with the app's secret, for this app (aud = client id), live (exp
// and nbf, with a little leeway), and issued for a shop (dest) whose admin
// is the issuer. It returns that shop.
func VerifySessionToken(token string, app App, now time.Time) (shop string, err error) {
	var claims SessionClaims
	_, err = jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return []byte(app.ClientSecret), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithAudience(app.ClientID),
		jwt.WithExpirationRequired(), jwt.WithLeeway(SessionTokenLeeway), jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSessionToken, err)
	}
	if claims.NotBefore == nil {
		return "", fmt.Errorf("%w: no nbf", ErrBadSessionToken)
	}
	dest, err := url.Parse(claims.Dest)
	if err != nil || dest.Scheme != "https" || !ValidShop(dest.Host) {
		return "", fmt.Errorf("%w: dest is not a shop", ErrBadSessionToken)
	}
	shop = strings.ToLower(dest.Host)
	if iss, err := url.Parse(claims.Issuer); err != nil || !strings.EqualFold(iss.Host, dest.Host) {
		return "", fmt.Errorf("%w: issuer and dest name different shops", ErrBadSessionToken)
	}
	return shop, nil
}
