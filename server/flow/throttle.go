package flow

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/latchauth/latch/storage"
)

// Suspicious-IP throttling (AUTH0-COMPAT §6.2), Auth0's defaults. Failed logins are counted
// per IP across every identifier: an IP has LoginThrottleBurst attempts, and gets one back
// every LoginThrottleInterval (100 a day, refilled evenly over 24 h). Once it has none left,
// every login from it is refused — the right password included, before any password hash
// is computed — until one comes back. Signups are counted per IP whatever their outcome
// (malformed requests aside): SignupThrottleBurst at once, one more every
// SignupThrottleInterval (50 a minute).
//
// The counters live in ShortLived (storage.RateLimits), shared by every instance; without
// ShortLived (some unit tests) there is no throttling. Requests whose IP is unknown ("")
// are not throttled: they would all share one counter.
const (
	LoginThrottleBurst     = 100
	LoginThrottleInterval  = 864 * time.Second
	SignupThrottleBurst    = 50
	SignupThrottleInterval = 1200 * time.Millisecond
)

var (
	// transactionThrottle bounds the login transactions one IP can make latch keep: each
	// /authorize without a session stores one for an hour, so without a bound a flood of
	// them would grow memory. 300 at once, then one every 2 s, is far beyond a person.
	transactionThrottle = storage.Limit{Burst: 300, Interval: 2 * time.Second}
)

// Errors of suspicious-IP throttling. Both come wrapped in a *ThrottledError, which says
// when to retry; compare with errors.Is.
var (
	// ErrSuspiciousIP: the IP has had too many failed logins; no login from it is tried.
	ErrSuspiciousIP = errors.New("suspicious login behavior from this IP")
	// ErrTooManySignups: the IP has signed up too often.
	ErrTooManySignups = errors.New("too many signups from this IP")
	// ErrTooManyTransactions: the IP has started too many logins.
	ErrTooManyTransactions = errors.New("too many logins started from this IP")
)

// ThrottledError is a refusal by suspicious-IP throttling: Err (ErrSuspiciousIP or
// ErrTooManySignups), and how long until the IP may try again.
type ThrottledError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string { return e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// RetryAfterSeconds is the Retry-After (whole seconds, rounded up, at least 1) of a
// throttling error, and 0 for any other error.
func RetryAfterSeconds(err error) int {
	var te *ThrottledError
	if !errors.As(err, &te) {
		return 0
	}
	return max(1, int((te.RetryAfter+time.Second-1)/time.Second))
}

// checkSuspiciousIP refuses a login from an IP that has used up its failed attempts. It
// counts nothing: only failures count (recordIPFailure).
func (s *Service) checkSuspiciousIP(ctx context.Context, ip string) error {
	t, on := s.throttling(ctx, ip)
	if !on || !slices.Contains(t.Shields, ShieldBlock) {
		return nil
	}
	ok, wait, err := s.shortLived.PeekRate(ctx, "login:"+ip, throttleLimit(t.Stage.PreLogin))
	if err != nil {
		// As for brute-force protection: refuse rather than let unbounded guessing through.
		return err
	}
	if !ok {
		return &ThrottledError{Err: ErrSuspiciousIP, RetryAfter: wait}
	}
	return nil
}

// recordIPFailure counts a failed login against its IP. A failure beyond the limit (logins
// that passed checkSuspiciousIP together) is not counted: the IP is throttled either way.
func (s *Service) recordIPFailure(ctx context.Context, ip string) {
	t, on := s.throttling(ctx, ip)
	if !on {
		return
	}
	if _, _, err := s.shortLived.TakeRate(ctx, "login:"+ip, throttleLimit(t.Stage.PreLogin)); err != nil {
		s.log.WarnContext(ctx, "recording a failed login for IP throttling", "error", err)
	}
}

// takeSignup counts a well-formed signup against its IP, or refuses it when the IP is out
// of signups.
func (s *Service) takeSignup(ctx context.Context, ip string) error {
	t, on := s.throttling(ctx, ip)
	if !on || !slices.Contains(t.Shields, ShieldBlock) {
		return nil
	}
	ok, wait, err := s.shortLived.TakeRate(ctx, "signup:"+ip, throttleLimit(t.Stage.PreUserRegistration))
	if err != nil {
		return err
	}
	if !ok {
		return &ThrottledError{Err: ErrTooManySignups, RetryAfter: wait}
	}
	return nil
}

// throttling returns the suspicious-IP settings, and whether they apply to ip at all.
func (s *Service) throttling(ctx context.Context, ip string) (SuspiciousIPThrottling, bool) {
	if s.shortLived == nil || ip == "" || s.exempt(ip) {
		return SuspiciousIPThrottling{}, false
	}
	st := s.attackSettings(ctx)
	return st.SuspiciousIP, st.SuspiciousIP.Enabled && !inAllowlist(ip, st.throttleAllow)
}

// takeTransaction counts a login transaction against its IP, or refuses it.
func (s *Service) takeTransaction(ctx context.Context, ip string) error {
	if s.shortLived == nil || ip == "" || s.exempt(ip) {
		return nil
	}
	ok, wait, err := s.shortLived.TakeRate(ctx, "authorize:"+ip, transactionThrottle)
	if err != nil {
		return err
	}
	if !ok {
		return &ThrottledError{Err: ErrTooManyTransactions, RetryAfter: wait}
	}
	return nil
}

// exempt says whether ip is on the attack-protection allowlist (AUTH0-COMPAT §6.1, §6.2):
// brute-force protection and suspicious-IP throttling leave it alone.
func (s *Service) exempt(ip string) bool {
	if len(s.allowlist) == 0 {
		return false
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range s.allowlist {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
