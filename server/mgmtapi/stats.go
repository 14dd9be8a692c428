package mgmtapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/storage"
)

// Stats (AUTH0-COMPAT §5): daily logins and signups, counted from the auth event log, so
// they reach back as far as the log's retention.

func (h *Handler) statsRoutes(g *echo.Group) {
	g.GET("/stats/daily", h.dailyStats, requireScope("read:stats"))
}

// maxStatsDays bounds one request's range.
const maxStatsDays = 366

type dailyStatJSON struct {
	Date            string `json:"date"`
	Logins          int    `json:"logins"`
	Signups         int    `json:"signups"`
	LeakedPasswords int    `json:"leaked_passwords"`
	UpdatedAt       string `json:"updated_at"`
	CreatedAt       string `json:"created_at"`
}

// dailyStats serves GET /api/v2/stats/daily?from=YYYYMMDD&to=YYYYMMDD (both inclusive, UTC
// days; default the last 30 days up to today).
func (h *Handler) dailyStats(c echo.Context) error {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, -29), today
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		v := c.QueryParam(p.name)
		if v == "" {
			continue
		}
		d, err := time.Parse("20060102", v)
		if err != nil {
			return apierror.InvalidQuery("Query validation error: '" + p.name + " must be a date written YYYYMMDD' on property " + p.name + ".")
		}
		*p.dst = d
	}
	days := int(to.Sub(from)/(24*time.Hour)) + 1
	switch {
	case days < 1:
		return apierror.InvalidQuery("Query validation error: 'from must not be after to'.")
	case days > maxStatsDays:
		return apierror.InvalidQuery("Query validation error: 'at most 366 days at once'.")
	}
	ctx := c.Request().Context()
	count := func(types []string, day time.Time) (int, error) {
		_, n, err := h.Store.ListEvents(ctx, storage.EventQuery{Types: types, From: day, To: day.AddDate(0, 0, 1), Page: storage.Page{PerPage: 1}})
		return n, err
	}
	now := isoTime(time.Now())
	out := make([]dailyStatJSON, 0, days)
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		logins, err := count([]string{"s"}, day)
		if err != nil {
			return apierror.ManagementServerError(err)
		}
		signups, err := count([]string{"ss"}, day)
		if err != nil {
			return apierror.ManagementServerError(err)
		}
		out = append(out, dailyStatJSON{Date: isoTime(day), Logins: logins, Signups: signups, UpdatedAt: now, CreatedAt: now})
	}
	return c.JSON(http.StatusOK, out)
}
