package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/shops"
)

// shopRoutes registers the owner-only shop credentials API. A principal
// belongs to one shop, so it registers and rotates that shop's credentials
// only; responses never include a secret.
func (s *server) shopRoutes(v1 *gin.RouterGroup) {
	g := v1.Group("/shops", s.require(domain.PermManageShops))
	g.GET("", s.listShops)
	g.POST("", s.addShop)
	g.PATCH("/:domain", s.rotateShop)
}

type addShopRequest struct {
	Domain         string   `json:"domain"`
	Name           string   `json:"name"`
	Currency       string   `json:"currency"`
	ShopifyID      int64    `json:"shopify_id"`
	WebhookSecrets []string `json:"webhook_secrets"`
	AccessToken    string   `json:"access_token"`
}

type rotateShopRequest struct {
	WebhookSecrets []string `json:"webhook_secrets"`
	AccessToken    *string  `json:"access_token"`
}

func (s *server) listShops(c *gin.Context) {
	shop, err := s.Shops.Get(c.Request.Context(), principalFrom(c).Shop)
	if errors.Is(err, shops.ErrUnknownShop) {
		c.JSON(http.StatusOK, page[shops.Shop]{Items: []shops.Shop{}})
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, page[shops.Shop]{Items: []shops.Shop{shop}})
}

func (s *server) addShop(c *gin.Context) {
	var req addShopRequest
	if !bindJSON(c, &req) {
		return
	}
	if !strings.EqualFold(strings.TrimSpace(req.Domain), principalFrom(c).Shop) {
		abortProblem(c, http.StatusForbidden, "you can register only your own shop")
		return
	}
	// Through the API a shop comes with the token made for it; shops that
	// install the app get theirs through OAuth.
	if strings.TrimSpace(req.AccessToken) == "" {
		abortProblem(c, http.StatusUnprocessableEntity, "the request has invalid fields", FieldError{Field: "access_token", Message: "is required"})
		return
	}
	shop, err := s.app.RegisterShop(c.Request.Context(), shops.Registration{
		Domain: req.Domain, Name: req.Name, Currency: req.Currency, ShopifyID: req.ShopifyID,
		WebhookSecrets: req.WebhookSecrets, AccessToken: req.AccessToken,
	}, eventMeta(c))
	if errors.Is(err, shops.ErrShopExists) {
		abortProblem(c, http.StatusConflict, "the shop is already registered")
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.Header("Location", "/api/v1/shops/"+shop.Domain)
	c.JSON(http.StatusCreated, shop)
}

func (s *server) rotateShop(c *gin.Context) {
	if !strings.EqualFold(c.Param("domain"), principalFrom(c).Shop) {
		abortProblem(c, http.StatusNotFound, "no such resource")
		return
	}
	var req rotateShopRequest
	if !bindJSON(c, &req) {
		return
	}
	shop, err := s.Shops.Rotate(c.Request.Context(), c.Param("domain"), shops.Rotation{
		WebhookSecrets: req.WebhookSecrets, AccessToken: req.AccessToken})
	if errors.Is(err, shops.ErrUnknownShop) {
		abortProblem(c, http.StatusNotFound, "no such resource")
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, shop)
}
