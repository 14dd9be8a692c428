package flow

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/latchauth/latch/storage"
)

// LogoutRequest is /v2/logout (AUTH0-COMPAT §2.6) or OIDC's /oidc/logout.
type LogoutRequest struct {
	SessionToken string
	ClientID     string
	// ReturnTo is returnTo, or post_logout_redirect_uri for /oidc/logout.
	ReturnTo string
	// IDTokenHint (/oidc/logout) names the client and proves the request comes from it.
	IDTokenHint string
	// State (/oidc/logout) is passed back to ReturnTo.
	State string
}

// LogoutPlan is where a logout goes next.
type LogoutPlan struct {
	// Redirect is the URL to send the browser to; "" shows the logged-out page.
	Redirect string
	// Confirm asks the user first (an /oidc/logout without id_token_hint could be forged by
	// any site); ClientName is shown on the page.
	Confirm    bool
	ClientName string
}

// PlanLogout checks where a logout may return to. The return URL must be one of the
// client's allowed logout URLs, compared exactly; without a client, latch knows no
// return URL and refuses one. Errors are *PageError.
func (s *Service) PlanLogout(ctx context.Context, r LogoutRequest, oidc bool) (LogoutPlan, error) {
	clientID := r.ClientID
	if r.IDTokenHint != "" {
		claims, err := s.issuer.VerifyIDTokenHint(ctx, r.IDTokenHint)
		if err != nil {
			return LogoutPlan{}, &PageError{"invalid_request", "The id_token_hint is not an ID token issued here."}
		}
		aud, _ := claims["aud"].(string)
		if clientID != "" && clientID != aud {
			return LogoutPlan{}, &PageError{"invalid_request", "client_id does not match the id_token_hint."}
		}
		clientID = aud
	}
	plan := LogoutPlan{Confirm: oidc && r.IDTokenHint == "" && r.SessionToken != ""}
	if clientID == "" {
		if r.ReturnTo != "" {
			return LogoutPlan{}, &PageError{"invalid_request", "A return URL needs a client_id (or an id_token_hint) whose allowed logout URLs list it."}
		}
		return plan, nil
	}
	c, err := s.client(ctx, clientID)
	if errors.Is(err, storage.ErrNotFound) {
		return LogoutPlan{}, &PageError{"invalid_request", "Unknown client: " + clientID}
	}
	if err != nil {
		return LogoutPlan{}, err
	}
	plan.ClientName = c.Name
	returnTo := r.ReturnTo
	if returnTo == "" && !oidc && len(c.AllowedLogoutURLs) > 0 {
		returnTo = c.AllowedLogoutURLs[0]
	}
	if returnTo == "" {
		return plan, nil
	}
	if !slices.Contains(c.AllowedLogoutURLs, returnTo) {
		return LogoutPlan{}, &PageError{"invalid_request",
			fmt.Sprintf("The return URL %q is not in the list of allowed logout URLs of the application.", returnTo)}
	}
	if oidc && r.State != "" {
		sep := "?"
		if strings.Contains(returnTo, "?") {
			sep = "&"
		}
		returnTo += sep + url.Values{"state": {r.State}}.Encode()
	}
	plan.Redirect = returnTo
	return plan, nil
}

// EndSession ends the SSO session of the cookie, if there is one.
func (s *Service) EndSession(ctx context.Context, sessionToken string) error {
	if sessionToken == "" {
		return nil
	}
	id := storage.TokenID(sessionToken)
	sess, _ := s.shortLived.GetSession(ctx, id) // for the logout's event only
	err := s.shortLived.DeleteSession(ctx, id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("end session: %w", err)
	}
	if err == nil && sess.UserID != "" {
		s.recordLogout(ctx, sess)
	}
	return nil
}

// LogoutCSRF is the token the logout confirmation form must send back: derived from the
// session cookie, which only the user's browser knows.
func LogoutCSRF(sessionToken string) string {
	return storage.TokenID("logout-confirmation\x00" + sessionToken)
}

// CheckLogoutCSRF compares a confirmation form's token in constant time.
func CheckLogoutCSRF(sessionToken, got string) bool {
	return sessionToken != "" && subtle.ConstantTimeCompare([]byte(LogoutCSRF(sessionToken)), []byte(got)) == 1
}
