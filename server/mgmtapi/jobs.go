package mgmtapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

// Jobs (AUTH0-COMPAT §5.9): user imports and exports, run in the background.

func (h *Handler) jobRoutes(g *echo.Group) {
	g.POST("/jobs/users-imports", h.createImportJob, requireScope("create:users"))
	g.POST("/jobs/users-exports", h.createExportJob, requireScope("read:users"))
	g.GET("/jobs/:id", h.getJob, requireScope("create:users", "read:users"))
	g.GET("/jobs/:id/errors", h.jobErrors, requireScope("create:users", "read:users"))
}

func jobNotFound() error {
	return apierror.NewManagement(http.StatusNotFound, "inexistent_job", "The job does not exist.")
}

// jobError translates what the job use cases return.
func jobError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	case errors.Is(err, flow.ErrConnectionNotFound):
		return apierror.NewManagement(http.StatusBadRequest, "inexistent_connection", "The connection does not exist.")
	case errors.Is(err, flow.ErrImportTooLarge):
		return apierror.NewManagement(http.StatusRequestEntityTooLarge, "payload_too_large", "The users file is too large: "+err.Error())
	case errors.Is(err, flow.ErrJobNotFound):
		return jobNotFound()
	case errors.Is(err, flow.ErrJobsUnavailable):
		return apierror.NewManagement(http.StatusNotImplemented, "not_implemented", "This latch's store keeps no jobs.")
	default:
		return apierror.ManagementServerError(err)
	}
}

// jobJSON is a job as Auth0 shows it; summary, location and the progress fields appear when
// they apply.
type jobJSON struct {
	Status          string           `json:"status"`
	Type            string           `json:"type"`
	CreatedAt       string           `json:"created_at"`
	ID              string           `json:"id"`
	ConnectionID    string           `json:"connection_id,omitempty"`
	Connection      string           `json:"connection,omitempty"`
	ExternalID      string           `json:"external_id,omitempty"`
	Format          string           `json:"format,omitempty"`
	Limit           int              `json:"limit,omitempty"`
	Fields          []exportField    `json:"fields,omitempty"`
	Location        string           `json:"location,omitempty"`
	PercentageDone  *int             `json:"percentage_done,omitempty"`
	TimeLeftSeconds *int             `json:"time_left_seconds,omitempty"`
	Summary         *jobSummaryJSON  `json:"summary,omitempty"`
	Message         string           `json:"message,omitempty"`
	Upsert          *bool            `json:"upsert,omitempty"`
	Details         *jobProgressJSON `json:"latch_progress,omitempty"`
}

type exportField struct {
	Name     string `json:"name"`
	ExportAs string `json:"export_as,omitempty"`
}

type jobSummaryJSON struct {
	Failed   int `json:"failed"`
	Updated  int `json:"updated"`
	Inserted int `json:"inserted"`
	Total    int `json:"total"`
}

// jobProgressJSON is latch's own addition: how many users the job has handled so far.
type jobProgressJSON struct {
	Processed int `json:"processed"`
}

func (h *Handler) renderJob(j storage.Job) jobJSON {
	out := jobJSON{
		Status: j.Status, Type: j.Type, CreatedAt: isoTime(j.CreatedAt), ID: j.ID,
		ConnectionID: j.ConnectionID, Connection: j.Connection, ExternalID: j.ExternalID,
		Message: j.Message,
	}
	switch j.Type {
	case storage.JobUsersExport:
		out.Format, out.Limit = j.Format, j.Limit
		for _, f := range j.Fields {
			out.Fields = append(out.Fields, exportField{Name: f.Name, ExportAs: f.ExportAs})
		}
		out.Location = h.Flow.ExportLocation(j)
	case storage.JobUsersImport:
		upsert := j.Upsert
		out.Upsert = &upsert
		if j.Status == storage.JobCompleted || j.Status == storage.JobFailed {
			out.Summary = &jobSummaryJSON{Failed: j.Summary.Failed, Updated: j.Summary.Updated, Inserted: j.Summary.Inserted, Total: j.Summary.Total}
		}
	}
	if j.Status == storage.JobProcessing {
		pct, left := progress(j)
		out.PercentageDone, out.TimeLeftSeconds = &pct, &left
		out.Details = &jobProgressJSON{Processed: j.Processed}
	}
	return out
}

// progress estimates how far a running import is, and how long it has left at its pace.
func progress(j storage.Job) (percent, secondsLeft int) {
	if j.Summary.Total <= 0 || j.Processed <= 0 {
		return 0, 0
	}
	percent = min(100, j.Processed*100/j.Summary.Total)
	elapsed := j.UpdatedAt.Sub(j.CreatedAt).Seconds()
	secondsLeft = int(elapsed / float64(j.Processed) * float64(j.Summary.Total-j.Processed))
	return percent, max(secondsLeft, 0)
}

// createImportJob serves POST /api/v2/jobs/users-imports (multipart/form-data).
func (h *Handler) createImportJob(c echo.Context) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "multipart/form-data") {
		return apierror.NewManagement(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be multipart/form-data")
	}
	limit := h.Flow.MaxImportBytes()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, limit+MaxBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return apierror.InvalidBody("Payload validation error: the body is not multipart/form-data.")
	}
	var req flow.ImportJobRequest
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return multipartError(err)
		}
		name := part.FormName()
		if seen[name] {
			return apierror.InvalidBody(fmt.Sprintf("Payload validation error: '%s' is given twice.", quoteName(name)))
		}
		seen[name] = true
		max := int64(4096)
		if name == "users" {
			max = limit
		}
		data, err := io.ReadAll(io.LimitReader(part, max+1))
		if err != nil {
			return multipartError(err)
		}
		if int64(len(data)) > max {
			if name == "users" {
				return jobError(fmt.Errorf("%w (more than %d bytes)", flow.ErrImportTooLarge, limit))
			}
			return apierror.InvalidBody(fmt.Sprintf("Payload validation error: '%s' is too long.", quoteName(name)))
		}
		switch name {
		case "users":
			req.Users = data
		case "connection_id":
			req.ConnectionID = string(data)
		case "external_id":
			req.ExternalID = string(data)
		case "upsert", "send_completion_email":
			b, err := strconv.ParseBool(strings.TrimSpace(string(data)))
			if err != nil {
				return typeError("boolean", "string", name)
			}
			if name == "upsert" {
				req.Upsert = b
			} else {
				req.SendCompletionEmail = b
			}
		default:
			return apierror.InvalidBody("Payload validation error: 'Additional properties not allowed: " + quoteName(name) + "'")
		}
	}
	if !seen["users"] {
		return apierror.InvalidBody("Payload validation error: 'Missing required property: users'.")
	}
	if !seen["connection_id"] {
		return apierror.InvalidBody("Payload validation error: 'Missing required property: connection_id'.")
	}
	j, err := h.Flow.CreateImportJob(c.Request().Context(), req)
	if err != nil {
		return jobError(err)
	}
	return c.JSON(http.StatusAccepted, h.renderJob(j))
}

func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return jobError(fmt.Errorf("%w (more than %d bytes)", flow.ErrImportTooLarge, mbe.Limit))
	}
	return apierror.InvalidBody("Payload validation error: the multipart body is malformed.")
}

// createExportJob serves POST /api/v2/jobs/users-exports.
func (h *Handler) createExportJob(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly("connection_id", "format", "limit", "fields"); err != nil {
		return err
	}
	r := fieldReader{o: o}
	req := flow.ExportJobRequest{
		ConnectionID: r.str("connection_id").Value,
		Format:       r.str("format").Value,
		Limit:        r.integer("limit").Value,
	}
	if raw, _, ok := r.raw("fields", "array"); ok {
		var fields []map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			return apierror.InvalidBody("Payload validation error: 'fields must be an array of {name, export_as}' on property fields.")
		}
		for i, f := range fields {
			name, ok1 := f["name"].(string)
			as, ok2 := f["export_as"].(string)
			if _, has := f["export_as"]; !has {
				ok2 = true
			}
			if !ok1 || !ok2 || len(f) > 2 || (len(f) == 2 && !has(f, "export_as")) {
				return apierror.InvalidBody(fmt.Sprintf("Payload validation error: 'fields[%d] must be {name, export_as}' on property fields.", i))
			}
			req.Fields = append(req.Fields, storage.ExportField{Name: name, ExportAs: as})
		}
	}
	if r.err != nil {
		return r.err
	}
	j, err := h.Flow.CreateExportJob(c.Request().Context(), req)
	if err != nil {
		return jobError(err)
	}
	return c.JSON(http.StatusCreated, h.renderJob(j))
}

func has(m map[string]any, k string) bool { _, ok := m[k]; return ok }

// getJob serves GET /api/v2/jobs/{id}.
func (h *Handler) getJob(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return jobNotFound()
	}
	j, err := h.Flow.GetJob(c.Request().Context(), id)
	if err != nil {
		return jobError(err)
	}
	return c.JSON(http.StatusOK, h.renderJob(j))
}

// jobErrorJSON is one failed user of an import.
type jobErrorJSON struct {
	User   storage.Metadata     `json:"user"`
	Errors []jobErrorDetailJSON `json:"errors"`
}

type jobErrorDetailJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Path    string `json:"path,omitempty"`
}

// jobErrors serves GET /api/v2/jobs/{id}/errors: the failed users, or 204 when there are
// none, as Auth0 answers.
func (h *Handler) jobErrors(c echo.Context) error {
	id, ok := pathID(c, "id")
	if !ok {
		return jobNotFound()
	}
	j, err := h.Flow.GetJob(c.Request().Context(), id)
	if err != nil {
		return jobError(err)
	}
	if len(j.Errors) == 0 {
		return c.NoContent(http.StatusNoContent)
	}
	out := make([]jobErrorJSON, len(j.Errors))
	for i, e := range j.Errors {
		out[i] = jobErrorJSON{User: e.User, Errors: make([]jobErrorDetailJSON, len(e.Errors))}
		for k, d := range e.Errors {
			out[i].Errors[k] = jobErrorDetailJSON{Code: d.Code, Message: d.Message, Path: d.Path}
		}
	}
	return c.JSON(http.StatusOK, out)
}

// ExportFile serves GET /api/v2/jobs/{id}/file/{token}: a completed export's file, to whoever
// holds its location (no bearer token, as with Auth0's pre-signed location).
func (h *Handler) ExportFile(c echo.Context) error {
	id, ok1 := pathID(c, "id")
	token, ok2 := pathID(c, "token")
	if !ok1 || !ok2 {
		return jobNotFound()
	}
	j, err := h.Flow.GetJob(c.Request().Context(), id)
	if err != nil {
		return jobError(err)
	}
	data, err := h.Flow.ExportFile(c.Request().Context(), id, token)
	if err != nil {
		return jobError(err)
	}
	ext := "json"
	if j.Format == "csv" {
		ext = "csv"
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s.gz"`, j.ID, ext))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "application/gzip", data)
}
