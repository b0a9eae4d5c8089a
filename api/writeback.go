package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/app"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/shopify"
)

// ShopifyError is one of Shopify's reasons for refusing an action.
type ShopifyError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code,omitempty"`
}

// shopifyAccess opens a shop's Admin API with its access token, for the
// actions on Shopify orders and stock the use cases send to Shopify.
func shopifyAccess(admin *shopify.AdminClient, tokens *shops.Registry) app.ShopifyAccess {
	return func(ctx context.Context, shop string) (app.ShopifyWriter, error) {
		token, err := tokens.AccessToken(ctx, shop)
		if err != nil {
			return nil, err
		}
		return admin.For(shop, token), nil
	}
}

// shopifyProblem answers an action on a Shopify order or stock item that
// Shopify refused, did not answer, or could not be asked; ok is false for
// any other error.
func (s *server) shopifyProblem(c *gin.Context, err error) (ok bool) {
	var refused shopify.UserErrors
	switch {
	case errors.As(err, &refused):
		reasons := make([]string, len(refused))
		p := Problem{Type: "about:blank", Title: http.StatusText(http.StatusUnprocessableEntity), Status: http.StatusUnprocessableEntity,
			Instance: c.Request.URL.Path, ShopifyErrors: make([]ShopifyError, len(refused))}
		for i, u := range refused {
			reasons[i] = u.Message
			p.ShopifyErrors[i] = ShopifyError{Field: u.Field, Message: u.Message, Code: u.Code}
		}
		p.Detail = "Shopify refused: " + strings.Join(reasons, "; ")
		c.Header("Content-Type", "application/problem+json")
		c.AbortWithStatusJSON(p.Status, p)
	case errors.Is(err, app.ErrShopifyAccepted):
		abortProblem(c, http.StatusAccepted, err.Error())
	case errors.Is(err, app.ErrNoShopifyAccess):
		s.Logger.WarnContext(c.Request.Context(), "write-back without Admin API access", "err", err, "path", c.Request.URL.Path)
		abortProblem(c, http.StatusConflict, err.Error()+": install the app again")
	case errors.Is(err, shopify.ErrAdminUnauthorized):
		abortProblem(c, http.StatusBadGateway, "Shopify refused Ordermill's access to the shop: install the app again")
	case errors.Is(err, shopify.ErrAdminThrottled), errors.Is(err, shopify.ErrAdminUnavailable), errors.Is(err, shopify.ErrAdminTimeout),
		errors.Is(err, shopify.ErrAdminBadResponse):
		s.Logger.WarnContext(c.Request.Context(), "write-back failed", "err", err, "path", c.Request.URL.Path)
		c.Header("Retry-After", "5")
		abortProblem(c, http.StatusServiceUnavailable, "Shopify did not answer; nothing changed here, and trying again is safe")
	default:
		return false
	}
	return true
}
