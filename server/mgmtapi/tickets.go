package mgmtapi

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/latchauth/latch/server/apierror"
	"github.com/latchauth/latch/server/flow"
	"github.com/latchauth/latch/storage"
)

// Tickets (links for an admin to hand to a user) and the verification-email job.
//
// Auth0 asks create:user_tickets of the tickets endpoints; latch also takes update:users,
// which lets a client set the password and the verified flag directly anyway.
var scopesTickets = []string{"create:user_tickets", "update:users"}

func (h *Handler) ticketRoutes(g *echo.Group) {
	g.POST("/tickets/email-verification", h.createEmailVerificationTicket, requireScope(scopesTickets...))
	g.POST("/tickets/password-change", h.createPasswordChangeTicket, requireScope(scopesTickets...))
	g.POST("/jobs/verification-email", h.createVerificationEmailJob, requireScope("update:users"))
}

// ticketJSON is Auth0's answer to a ticket request.
type ticketJSON struct {
	Ticket string `json:"ticket"`
}

// ticketError translates what the ticket use cases return.
func ticketError(err error) error {
	var inv *flow.InvalidRequestError
	switch {
	case errors.As(err, &inv):
		return apierror.InvalidBody(inv.Message)
	case errors.Is(err, storage.ErrNotFound):
		return userNotFound()
	case errors.Is(err, flow.ErrConnectionNotFound):
		return apierror.NewManagement(http.StatusBadRequest, "inexistent_connection", "The connection does not exist.")
	case errors.Is(err, flow.ErrEmailUnavailable):
		return apierror.NewManagement(http.StatusNotImplemented, "not_implemented", "This latch sends no email: it has no ticket store.")
	default:
		return apierror.ManagementServerError(err)
	}
}

// identityMatches accepts an identity object that names the user's own (database) identity:
// latch users have one identity, so there is no other to verify.
func identityMatches(r *fieldReader, userID string) {
	o, h := r.object("identity")
	if r.err != nil || !h.set || h.null {
		return
	}
	ir := fieldReader{o: o, prefix: "identity."}
	id, provider := ir.str("user_id").Value, ir.str("provider").Value
	if ir.err == nil {
		ir.err = o.allowOnly("user_id", "provider")
	}
	if ir.err != nil {
		r.err = ir.err
		return
	}
	if provider+"|"+id != userID {
		r.err = apierror.InvalidBody("Payload validation error: 'identity must be the user's own identity (latch users have one)' on property identity.")
	}
}

// createEmailVerificationTicket serves POST /api/v2/tickets/email-verification.
func (h *Handler) createEmailVerificationTicket(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly("user_id", "result_url", "client_id", "ttl_sec", "includeEmailInRedirect", "identity"); err != nil {
		return err
	}
	r := fieldReader{o: o}
	req := flow.EmailVerificationTicketRequest{
		UserID: r.str("user_id").Value, ResultURL: r.str("result_url").Value, ClientID: r.str("client_id").Value,
		TTLSeconds: r.integer("ttl_sec").Value, IncludeEmailInRedirect: r.boolean("includeEmailInRedirect").Value,
	}
	identityMatches(&r, req.UserID)
	if r.err != nil {
		return r.err
	}
	link, err := h.Flow.CreateEmailVerificationTicket(c.Request().Context(), req)
	if err != nil {
		return ticketError(err)
	}
	return c.JSON(http.StatusCreated, ticketJSON{Ticket: link})
}

// createPasswordChangeTicket serves POST /api/v2/tickets/password-change.
func (h *Handler) createPasswordChangeTicket(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if _, ok := o["new_password"]; ok {
		// Auth0 deprecated it: a ticket that sets a chosen password is a password in a link.
		return apierror.InvalidBody("Payload validation error: 'new_password is not supported: set the password with PATCH /api/v2/users/{id}' on property new_password.")
	}
	if err := o.allowOnly("user_id", "connection_id", "email", "result_url", "client_id", "ttl_sec",
		"mark_email_as_verified", "includeEmailInRedirect", "identity"); err != nil {
		return err
	}
	r := fieldReader{o: o}
	req := flow.PasswordChangeTicketRequest{
		UserID: r.str("user_id").Value, ConnectionID: r.str("connection_id").Value, Email: r.str("email").Value,
		ResultURL: r.str("result_url").Value, ClientID: r.str("client_id").Value,
		TTLSeconds:             r.integer("ttl_sec").Value,
		MarkEmailAsVerified:    r.boolean("mark_email_as_verified").Value,
		IncludeEmailInRedirect: r.boolean("includeEmailInRedirect").Value,
	}
	identityMatches(&r, req.UserID)
	if r.err != nil {
		return r.err
	}
	link, err := h.Flow.CreatePasswordChangeTicket(c.Request().Context(), req)
	if err != nil {
		return ticketError(err)
	}
	return c.JSON(http.StatusCreated, ticketJSON{Ticket: link})
}

// createVerificationEmailJob serves POST /api/v2/jobs/verification-email.
func (h *Handler) createVerificationEmailJob(c echo.Context) error {
	o, err := readObject(c)
	if err != nil {
		return err
	}
	if err := o.allowOnly("user_id", "client_id", "identity"); err != nil {
		return err
	}
	r := fieldReader{o: o}
	req := flow.VerificationEmailJobRequest{UserID: r.str("user_id").Value, ClientID: r.str("client_id").Value}
	identityMatches(&r, req.UserID)
	if r.err != nil {
		return r.err
	}
	j, err := h.Flow.SendVerificationEmailJob(c.Request().Context(), req)
	if err != nil {
		return ticketError(err)
	}
	return c.JSON(http.StatusCreated, h.renderJob(j))
}
