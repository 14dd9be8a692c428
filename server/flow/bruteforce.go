package flow

import (
	"context"
	"go.opentelemetry.io/otel/codes"
	"slices"
	"time"
)

// Brute-force protection (AUTH0-COMPAT §6.1): after BruteForceThreshold failed logins for
// one identifier from one IP, further attempts from that IP are refused — before any
// password hash is computed — until BruteForceWindow passes without a failure, the user
// changes password, or an admin lifts the block. The identifier is what was typed, so an
// attacker learns nothing about which accounts exist.
const (
	BruteForceThreshold = 10
	BruteForceWindow    = 30 * 24 * time.Hour
)

// bruteForce returns the brute-force settings, and whether they apply to ip at all.
func (s *Service) bruteForce(ctx context.Context, ip string) (BruteForceProtection, bool) {
	if s.failures == nil || s.exempt(ip) {
		return BruteForceProtection{}, false
	}
	st := s.attackSettings(ctx)
	return st.BruteForce, st.BruteForce.Enabled && !inAllowlist(ip, st.bruteAllow)
}

func (s *Service) checkBruteForce(ctx context.Context, identifier, ip string) error {
	b, on := s.bruteForce(ctx, ip)
	if !on || !slices.Contains(b.Shields, ShieldBlock) {
		return nil
	}
	n, err := s.failures.FailureCount(ctx, identifier, bruteForceKey(b, ip))
	if err != nil {
		// Without the counters latch cannot protect the account: refuse rather than let
		// an unbounded guessing run through.
		return err
	}
	if n >= b.MaxAttempts {
		return ErrTooManyAttempts
	}
	return nil
}

func (s *Service) recordFailure(ctx context.Context, identifier, ip string) {
	b, on := s.bruteForce(ctx, ip)
	if !on {
		return
	}
	n, err := s.failures.RecordFailure(ctx, identifier, bruteForceKey(b, ip), BruteForceWindow)
	if err != nil {
		s.log.WarnContext(ctx, "recording a failed login", "error", err)
		return
	}
	// This failure blocked the identifier: tell its owner.
	if n == b.MaxAttempts && slices.Contains(b.Shields, ShieldUserNotification) {
		s.notifyBlocked(ctx, tracedUser(ctx), ip)
	}
}

func (s *Service) clearFailures(ctx context.Context, identifier, ip string) {
	if s.failures == nil {
		return
	}
	if err := s.failures.ClearFailures(ctx, identifier, ip); err != nil {
		s.log.WarnContext(ctx, "clearing failed logins", "error", err)
	}
}

// UserBlock is one identifier blocked from one IP.
type UserBlock struct {
	Identifier string `json:"identifier"`
	IP         string `json:"ip"`
}

// BlocksOf lists the brute-force blocks of identifiers.
func (s *Service) BlocksOf(ctx context.Context, identifiers ...string) ([]UserBlock, error) {
	out := []UserBlock{}
	if s.failures == nil {
		return out, nil
	}
	for _, id := range identifiers {
		if id == "" {
			continue
		}
		ips, err := s.failures.BlockedIPs(ctx, id, s.attackSettings(ctx).BruteForce.MaxAttempts)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			out = append(out, UserBlock{Identifier: id, IP: ip})
		}
	}
	return out, nil
}

// Unblock lifts the brute-force blocks of identifiers, from every IP.
func (s *Service) Unblock(ctx context.Context, identifiers ...string) error {
	if s.failures == nil {
		return nil
	}
	for _, id := range identifiers {
		if id == "" {
			continue
		}
		if err := s.failures.ClearFailures(ctx, id, ""); err != nil {
			return err
		}
	}
	return nil
}

// hashSlot waits for a turn to run bcrypt (see password.Gate). leave must be called after.
// Its span covers the wait and the hashing done in the turn.
func (s *Service) hashSlot(ctx context.Context) (leave func(), err error) {
	_, span := tracer().Start(ctx, "password hashing")
	if s.hashGate == nil {
		return func() { span.End() }, nil
	}
	leaveGate, err := s.hashGate.Enter(ctx)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		span.End()
		return nil, err
	}
	return func() { leaveGate(); span.End() }, nil
}

// hashPassword hashes a new password in its turn.
func (s *Service) hashPassword(ctx context.Context, pw string) (string, error) {
	leave, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer leave()
	return s.hasher.Hash(pw)
}
