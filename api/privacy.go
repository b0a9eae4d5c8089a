package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ordermill/ordermill/domain"
	"github.com/ordermill/ordermill/internal/privacy"
)

// privacyRoutes lets the shop owner see the compliance webhooks Shopify sent
// and download the export a customers/data_request asks the merchant for.
func (s *server) privacyRoutes(v1 *gin.RouterGroup) {
	g := v1.Group("/privacy/requests", s.require(domain.PermManageShops))
	g.GET("", s.listPrivacyRequests)
	g.GET("/:id/export", s.exportPrivacyRequest)
}

func (s *server) listPrivacyRequests(c *gin.Context) {
	items, err := privacy.Requests(c.Request.Context(), s.Store, principalFrom(c).Shop)
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *server) exportPrivacyRequest(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		abortProblem(c, http.StatusNotFound, "no such resource")
		return
	}
	export, err := privacy.BuildExport(c.Request.Context(), s.Store, principalFrom(c).Shop, id)
	if errors.Is(err, privacy.ErrNoRequest) {
		abortProblem(c, http.StatusNotFound, "no such resource")
		return
	}
	if err != nil {
		s.problemFromError(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="data-request-`+id.String()+`.json"`)
	c.JSON(http.StatusOK, export)
}
