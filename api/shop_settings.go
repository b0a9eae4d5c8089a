package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/shops"
	"github.com/ordermill/ordermill/shopify"
)

// shopSettingsRoutes registers the caller's shop settings: everyone of the
// shop reads them, owners change them.
func (s *server) shopSettingsRoutes(v1 *gin.RouterGroup) {
	v1.GET("/shop/settings", s.require(domain.PermReadOrders), s.getShopSettings)
	v1.PATCH("/shop/settings", s.require(domain.PermManageShops), s.patchShopSettings)
	v1.GET("/shop/install", s.require(domain.PermManageShops), s.getShopInstall)
}

// shopInstall is how the caller's shop is connected to Shopify.
type shopInstall struct {
	Shop          string     `json:"shop"`
	Installed     bool       `json:"installed"`
	UninstalledAt *time.Time `json:"uninstalled_at"`
	Method        string     `json:"method"`
	APIVersion    string     `json:"api_version"`
	Scopes        []string   `json:"scopes"`
	// Subscriptions is how many webhook topics the last successful check
	// found subscribed (it re-creates missing ones); null before one.
	Subscriptions          *int       `json:"subscriptions"`
	SubscriptionsCheckedAt *time.Time `json:"subscriptions_checked_at"`
	ReconciledAt           *time.Time `json:"reconciled_at"`
	ReconciliationError    string     `json:"reconciliation_error"`
}

func (s *server) getShopInstall(c *gin.Context) {
	shop := principalFrom(c).Shop
	st, err := s.Shops.InstallStatus(c.Request.Context(), shop)
	if errors.Is(err, shops.ErrUnknownShop) {
		err = errNotFound
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	in := shopInstall{Shop: shop, Installed: st.Installed, UninstalledAt: st.UninstalledAt, Method: st.Method,
		APIVersion: s.ShopifyAPIVersion, Scopes: []string{}, SubscriptionsCheckedAt: st.SubscriptionsCheckedAt,
		ReconciledAt: st.ReconciledAt, ReconciliationError: st.ReconciliationError}
	if st.Scopes != "" {
		in.Scopes = strings.Split(st.Scopes, ",")
	}
	if st.SubscriptionsCheckedAt != nil {
		n := len(shopify.SubscribedTopics)
		in.Subscriptions = &n
	}
	c.JSON(http.StatusOK, in)
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
