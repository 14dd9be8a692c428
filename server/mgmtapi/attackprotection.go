package mgmtapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
)

// Attack protection (AUTH0-COMPAT §5.10): brute-force protection and suspicious-IP
// throttling are read and changed here; breached-password detection is not something latch
// does, and says so.

func (h *Handler) attackProtectionRoutes(g *echo.Group) {
	read, update := requireScope("read:attack_protection"), requireScope("update:attack_protection")
	g.GET("/attack-protection/brute-force-protection", h.getBruteForce, read)
	g.PATCH("/attack-protection/brute-force-protection", h.patchBruteForce, update)
	g.GET("/attack-protection/suspicious-ip-throttling", h.getSuspiciousIP, read)
	g.PATCH("/attack-protection/suspicious-ip-throttling", h.patchSuspiciousIP, update)
	g.GET("/attack-protection/breached-password-detection", h.getBreachedPassword, read)
	g.PATCH("/attack-protection/breached-password-detection", h.patchBreachedPassword, update)
}

func attackError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	case errors.Is(err, flow.ErrNoSettingsStore):
		return apierror.NewManagement(http.StatusNotImplemented, "not_implemented", "This latch's store keeps no settings.")
	default:
		return apierror.ManagementServerError(err)
	}
}

func (h *Handler) getBruteForce(c echo.Context) error {
	ap, err := h.Flow.AttackProtectionSettings(c.Request().Context())
	if err != nil {
		return attackError(err)
	}
	return c.JSON(http.StatusOK, ap.BruteForce)
}

func (h *Handler) patchBruteForce(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly("enabled", "shields", "allowlist", "mode", "max_attempts"); err != nil {
		return err
	}
	r := fieldReader{o: o}
	p := flow.BruteForcePatch{
		Enabled: r.boolean("enabled"), Shields: r.stringList("shields"), Allowlist: r.stringList("allowlist"),
		Mode: r.str("mode"), MaxAttempts: r.integer("max_attempts"),
	}
	if r.err != nil {
		return r.err
	}
	b, err := h.Flow.AdminUpdateBruteForce(c.Request().Context(), p)
	if err != nil {
		return attackError(err)
	}
	return c.JSON(http.StatusOK, b)
}

func (h *Handler) getSuspiciousIP(c echo.Context) error {
	ap, err := h.Flow.AttackProtectionSettings(c.Request().Context())
	if err != nil {
		return attackError(err)
	}
	return c.JSON(http.StatusOK, ap.SuspiciousIP)
}

func (h *Handler) patchSuspiciousIP(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly("enabled", "shields", "allowlist", "stage"); err != nil {
		return err
	}
	r := fieldReader{o: o}
	p := flow.SuspiciousIPPatch{Enabled: r.boolean("enabled"), Shields: r.stringList("shields"), Allowlist: r.stringList("allowlist")}
	if stage, head := r.object("stage"); head.set && !head.null && r.err == nil {
		if err := stage.allowOnly("pre-login", "pre-user-registration"); err != nil {
			return err
		}
		sr := fieldReader{o: stage, prefix: "stage."}
		for _, st := range []struct {
			name string
			dst  *flow.Patch[flow.ThrottleStage]
		}{{"pre-login", &p.PreLogin}, {"pre-user-registration", &p.PreUserRegistration}} {
			obj, h := sr.object(st.name)
			if !h.set || h.null || sr.err != nil {
				continue
			}
			if err := obj.allowOnly("max_attempts", "rate"); err != nil {
				return err
			}
			vr := fieldReader{o: obj, prefix: "stage." + st.name + "."}
			n, rate := vr.integer("max_attempts"), vr.integer("rate")
			if vr.err != nil {
				return vr.err
			}
			if !n.Set || !rate.Set {
				return apierror.InvalidBody("Payload validation error: 'stage." + st.name + " needs max_attempts and rate'.")
			}
			*st.dst = flow.SetTo(flow.ThrottleStage{MaxAttempts: n.Value, Rate: int64(rate.Value)})
		}
		if sr.err != nil {
			return sr.err
		}
	}
	if r.err != nil {
		return r.err
	}
	t, err := h.Flow.AdminUpdateSuspiciousIP(c.Request().Context(), p)
	if err != nil {
		return attackError(err)
	}
	return c.JSON(http.StatusOK, t)
}

// breachedPassword is the answer for breached-password detection: always off.
var breachedPassword = map[string]any{
	"enabled": false, "shields": []string{}, "admin_notification_frequency": []string{}, "method": "standard",
	"stage": map[string]any{"pre-user-registration": map[string]any{"shields": []string{}}},
}

func (h *Handler) getBreachedPassword(c echo.Context) error {
	return c.JSON(http.StatusOK, breachedPassword)
}

// patchBreachedPassword accepts only what leaves it off.
func (h *Handler) patchBreachedPassword(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	r := fieldReader{o: o}
	if en := r.boolean("enabled"); r.err == nil && en.Set && en.Value {
		return apierror.InvalidBody("Payload validation error: 'latch does not check passwords against breach lists; breached-password detection cannot be enabled' on property enabled.")
	}
	if r.err != nil {
		return r.err
	}
	return c.JSON(http.StatusOK, breachedPassword)
}
