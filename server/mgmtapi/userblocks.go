package mgmtapi

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
)

// userBlockRoutes are the brute-force block endpoints (AUTH0-COMPAT §5.10, §6.1).
func (h *Handler) userBlockRoutes(g *echo.Group) {
	g.GET("/user-blocks", h.blocksByIdentifier, requireScope("read:users"))
	g.DELETE("/user-blocks", h.unblockIdentifier, requireScope("update:users"))
	g.GET("/user-blocks/:id", h.blocksOfUser, requireScope("read:users"))
	g.DELETE("/user-blocks/:id", h.unblockUser, requireScope("update:users"))
}

// identifierParam reads ?identifier=, lower-cased as logins are.
func identifierParam(c echo.Context) (string, error) {
	id := strings.ToLower(strings.TrimSpace(c.QueryParam("identifier")))
	if id == "" {
		return "", queryError("'Missing required property: identifier'.")
	}
	return id, nil
}

// userIdentifiers are what a user may type to log in: the email, and the username if any.
func (h *Handler) userIdentifiers(c echo.Context) ([]string, error) {
	id, ok := pathID(c, "id")
	if !ok {
		return nil, userNotFound()
	}
	u, err := h.Store.GetUser(c.Request().Context(), id)
	if err != nil {
		return nil, userError(err)
	}
	return []string{u.Email, u.Username}, nil
}

func (h *Handler) blocks(c echo.Context, identifiers []string) error {
	b, err := h.Flow.BlocksOf(c.Request().Context(), identifiers...)
	if err != nil {
		return apierror.ManagementServerError(err)
	}
	return c.JSON(http.StatusOK, map[string]any{"blocked_for": b})
}

func (h *Handler) unblock(c echo.Context, identifiers []string) error {
	if err := h.Flow.Unblock(c.Request().Context(), identifiers...); err != nil {
		return apierror.ManagementServerError(err)
	}
	return c.NoContent(http.StatusNoContent)
}

// blocksByIdentifier serves GET /api/v2/user-blocks?identifier=.
func (h *Handler) blocksByIdentifier(c echo.Context) error {
	id, err := identifierParam(c)
	if err != nil {
		return err
	}
	return h.blocks(c, []string{id})
}

// unblockIdentifier serves DELETE /api/v2/user-blocks?identifier=.
func (h *Handler) unblockIdentifier(c echo.Context) error {
	id, err := identifierParam(c)
	if err != nil {
		return err
	}
	return h.unblock(c, []string{id})
}

// blocksOfUser serves GET /api/v2/user-blocks/{id}.
func (h *Handler) blocksOfUser(c echo.Context) error {
	ids, err := h.userIdentifiers(c)
	if err != nil {
		return err
	}
	return h.blocks(c, ids)
}

// unblockUser serves DELETE /api/v2/user-blocks/{id}.
func (h *Handler) unblockUser(c echo.Context) error {
	ids, err := h.userIdentifiers(c)
	if err != nil {
		return err
	}
	return h.unblock(c, ids)
}
