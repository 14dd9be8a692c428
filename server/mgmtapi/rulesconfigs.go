package mgmtapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

func (h *Handler) rulesConfigRoutes(g *echo.Group) {
	g.GET("/rules-configs", h.listRulesConfigs, requireScope("read:rules_configs"))
	g.PUT("/rules-configs/:key", h.setRulesConfig, requireScope("update:rules_configs"))
	g.DELETE("/rules-configs/:key", h.deleteRulesConfig, requireScope("delete:rules_configs"))
}

// rulesConfigKey reads the key from the path. A key that cannot name a variable is a path
// validation error (errorCode UNCONFIRMED), whatever the method.
func rulesConfigKey(c echo.Context) (string, error) {
	key, ok := pathID(c, "key")
	if !ok || !flow.ValidRulesConfigKey(key) {
		return "", apierror.NewManagement(http.StatusBadRequest, "invalid_uri",
			fmt.Sprintf("Path validation error: 'String does not match pattern ^[A-Za-z0-9_-]+$ or is longer than %d characters' on property key.", flow.MaxRulesConfigKeyLen))
	}
	return key, nil
}

func rulesConfigError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	case errors.Is(err, storage.ErrNotFound):
		return apierror.NewManagement(http.StatusNotFound, "inexistent_rules_config", "The rules config does not exist.")
	default:
		return apierror.ManagementServerError(err)
	}
}

// listRulesConfigs serves GET /api/v2/rules-configs: the keys, never the values
// (AUTH0-COMPAT §3.6: values are readable only by rules).
func (h *Handler) listRulesConfigs(c echo.Context) error {
	keys, err := h.Store.ListRulesConfigKeys(c.Request().Context())
	if err != nil {
		return apierror.ManagementServerError(fmt.Errorf("list rules configs: %w", err))
	}
	out := make([]map[string]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]string{"key": k})
	}
	return c.JSON(http.StatusOK, out)
}

// setRulesConfig serves PUT /api/v2/rules-configs/{key}: create or replace.
func (h *Handler) setRulesConfig(c echo.Context) error {
	key, err := rulesConfigKey(c)
	if err != nil {
		return err
	}
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly("value"); err != nil {
		return err
	}
	r := fieldReader{o: o}
	value := r.str("value")
	switch {
	case r.err != nil:
		return r.err
	case value.Null:
		return typeError("string", "null", "value")
	case !value.Set:
		return apierror.InvalidBody("Payload validation error: 'Missing required property: value'.")
	}
	if err := h.Flow.AdminSetRulesConfig(c.Request().Context(), key, value.Value); err != nil {
		return rulesConfigError(err)
	}
	return c.JSON(http.StatusOK, map[string]string{"key": key, "value": value.Value})
}

// deleteRulesConfig serves DELETE /api/v2/rules-configs/{key}.
func (h *Handler) deleteRulesConfig(c echo.Context) error {
	key, err := rulesConfigKey(c)
	if err != nil {
		return err
	}
	if err := h.Flow.AdminDeleteRulesConfig(c.Request().Context(), key); err != nil {
		return rulesConfigError(err)
	}
	return c.NoContent(http.StatusNoContent)
}
