package api

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
)

// shopSettingsRoutes registers the caller's shop settings: everyone of the
// shop reads them, owners change them.
func (s *server) shopSettingsRoutes(v1 *gin.RouterGroup) {
	v1.GET("/shop/settings", s.require(domain.PermReadOrders), s.getShopSettings)
	v1.PATCH("/shop/settings", s.require(domain.PermManageShops), s.patchShopSettings)
}

// shopSettings is the settings resource; Version is the shop stream's.
type shopSettings struct {
	domain.ShopSettings
	Version int `json:"version"`
}

func (s *server) getShopSettings(c *gin.Context) {
	shopDomain := principalFrom(c).Shop
	shop, err := s.app.Shop(c.Request.Context(), shopDomain)
	if err != nil {
		s.problemFromError(c, fmt.Errorf("settings of %s: %w", shopDomain, err))
		return
	}
	c.Header("ETag", etag(int64(shop.Version())))
	c.JSON(http.StatusOK, shopSettings{ShopSettings: shop.Settings(), Version: shop.Version()})
}

// shopSettingsPatch changes the settings it names and keeps the others.
type shopSettingsPatch struct {
	ShopifyOrderConfirmations *bool `json:"shopify_order_confirmations"`
}

func (s *server) patchShopSettings(c *gin.Context) {
	pre, ok := ifMatch(c)
	var req shopSettingsPatch
	if !ok || !bindJSON(c, &req) {
		return
	}
	res, err := s.app.ChangeShopSettings(c.Request.Context(), callerOf(c), pre, func(next *domain.ShopSettings) {
		if req.ShopifyOrderConfirmations != nil {
			next.ShopifyOrderConfirmations = *req.ShopifyOrderConfirmations
		}
	})
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	shop := res.Aggregate
	resp, err := jsonResponse(http.StatusOK, writeHeaders(res.Appended.Version, res.Appended.Position),
		shopSettings{ShopSettings: shop.Settings(), Version: shop.Version()})
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	resp.write(c)
}
