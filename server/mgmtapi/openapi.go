package mgmtapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// openAPIDocument is the OpenAPI 3.1 description of this package's routes. It is written by
// hand, next to the handlers it describes; openapi_test.go holds the two to each other, and
// cmd/latch's conformance test holds latch's real answers to it.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPIETag identifies this build's document, so that a client re-fetches it only when
// latch was upgraded.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// openAPIMaxAge is how long a client may keep the document without asking again; it changes
// only with an upgrade, and the ETag makes the question cheap.
const openAPIMaxAge = "public, max-age=3600"

// OpenAPI serves GET /api/v2/openapi.json: the description of the Management API. It is
// public, like the discovery document, so that tools can read it before they hold a token;
// it says what latch serves, nothing about its data.
func OpenAPI(c echo.Context) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	h.Set("Cache-Control", openAPIMaxAge)
	h.Set("ETag", openAPIETag)
	// ServeContent answers If-None-Match with a 304 and HEAD without a body.
	http.ServeContent(c.Response(), c.Request(), "openapi.json", time.Time{}, bytes.NewReader(openAPIDocument))
	return nil
}
