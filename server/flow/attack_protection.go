package flow

// Attack-protection settings (AUTH0-COMPAT §5.10, §6.1, §6.2): brute-force protection and
// suspicious-IP throttling, tenant-wide, changed through the Management API and kept in
// storage.Settings. Every instance caches them and drops the cache on a TopicSettings
// notice. Without a settings store, or before any change, Auth0's defaults apply.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/storage"
)

// attackProtectionSetting is the settings document's name.
const attackProtectionSetting = "attack_protection"

// AttackProtection is the whole of the settings.
type AttackProtection struct {
	BruteForce   BruteForceProtection   `json:"brute_force_protection"`
	SuspiciousIP SuspiciousIPThrottling `json:"suspicious_ip_throttling"`
}

// BruteForceProtection is Auth0's brute-force-protection object.
type BruteForceProtection struct {
	Enabled bool `json:"enabled"`
	// Shields: "block" refuses further attempts, "user_notification" mails the user.
	Shields   []string `json:"shields"`
	Allowlist []string `json:"allowlist"`
	// Mode counts failures per identifier and IP (the default), or per identifier alone
	// (then a block holds from every IP).
	Mode        string `json:"mode"`
	MaxAttempts int    `json:"max_attempts"`
}

// SuspiciousIPThrottling is Auth0's suspicious-ip-throttling object.
type SuspiciousIPThrottling struct {
	Enabled bool `json:"enabled"`
	// Shields: "block" refuses the IP, "admin_notification" (accepted; latch has no admin
	// mail yet, so it only logs).
	Shields   []string       `json:"shields"`
	Allowlist []string       `json:"allowlist"`
	Stage     ThrottleStages `json:"stage"`
}

// ThrottleStages are the two counters of suspicious-IP throttling.
type ThrottleStages struct {
	PreLogin            ThrottleStage `json:"pre-login"`
	PreUserRegistration ThrottleStage `json:"pre-user-registration"`
}

// ThrottleStage is a bucket: MaxAttempts at once, one more every Rate milliseconds.
type ThrottleStage struct {
	MaxAttempts int   `json:"max_attempts"`
	Rate        int64 `json:"rate"`
}

// Values the settings take.
const (
	ModePerIdentifierAndIP = "count_per_identifier_and_ip"
	ModePerIdentifier      = "count_per_identifier"
	ShieldBlock            = "block"
	ShieldUserNotification = "user_notification"
	ShieldAdminNotify      = "admin_notification"
	// maxAllowlist bounds an allowlist's entries.
	maxAllowlist = 100
)

// DefaultAttackProtection is Auth0's default (§6.1, §6.2).
func DefaultAttackProtection() AttackProtection {
	return AttackProtection{
		BruteForce: BruteForceProtection{
			Enabled: true, Shields: []string{ShieldBlock, ShieldUserNotification}, Allowlist: []string{},
			Mode: ModePerIdentifierAndIP, MaxAttempts: BruteForceThreshold,
		},
		SuspiciousIP: SuspiciousIPThrottling{
			Enabled: true, Shields: []string{ShieldBlock, ShieldAdminNotify}, Allowlist: []string{},
			Stage: ThrottleStages{
				PreLogin:            ThrottleStage{MaxAttempts: LoginThrottleBurst, Rate: LoginThrottleInterval.Milliseconds()},
				PreUserRegistration: ThrottleStage{MaxAttempts: SignupThrottleBurst, Rate: SignupThrottleInterval.Milliseconds()},
			},
		},
	}
}

// attackState is the settings as every login uses them: with their allowlists parsed once.
type attackState struct {
	AttackProtection
	bruteAllow, throttleAllow []netip.Prefix
}

func newAttackState(ap AttackProtection) *attackState {
	return &attackState{AttackProtection: ap,
		bruteAllow: allowPrefixes(ap.BruteForce.Allowlist), throttleAllow: allowPrefixes(ap.SuspiciousIP.Allowlist)}
}

// allowPrefixes parses an allowlist that was checked when it was saved; an entry that no
// longer parses (edited in the store by hand) is left out.
func allowPrefixes(list []string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(list))
	for _, e := range list {
		if p, err := ParsePrefix(e); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// attackCache holds the settings last loaded; nil means "load".
type attackCache struct {
	p atomic.Pointer[attackState]
}

func (c *attackCache) invalidate() { c.p.Store(nil) }

// attackSettings returns the settings in force, from memory when it can. A store that
// cannot be read gives the defaults (protection stays on) and a warning.
func (s *Service) attackSettings(ctx context.Context) *attackState {
	if p := s.attack.p.Load(); p != nil {
		return p
	}
	ap, err := s.loadAttackSettings(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "reading attack-protection settings; using the defaults", "error", err)
		return newAttackState(DefaultAttackProtection())
	}
	st := newAttackState(ap)
	s.attack.p.Store(st)
	return st
}

func (s *Service) loadAttackSettings(ctx context.Context) (AttackProtection, error) {
	ap := DefaultAttackProtection()
	if s.settings == nil {
		return ap, nil
	}
	raw, err := s.settings.GetSetting(ctx, attackProtectionSetting)
	if errors.Is(err, storage.ErrNotFound) {
		return ap, nil
	}
	if err != nil {
		return ap, err
	}
	if err := json.Unmarshal(raw, &ap); err != nil {
		return DefaultAttackProtection(), fmt.Errorf("decode attack-protection settings: %w", err)
	}
	return ap, nil
}

// AttackProtectionSettings returns the settings in force (for the Management API).
func (s *Service) AttackProtectionSettings(ctx context.Context) (AttackProtection, error) {
	return s.loadAttackSettings(ctx)
}

// BruteForcePatch is the body of PATCH /attack-protection/brute-force-protection.
type BruteForcePatch struct {
	Enabled     Patch[bool]
	Shields     Patch[[]string]
	Allowlist   Patch[[]string]
	Mode        Patch[string]
	MaxAttempts Patch[int]
}

// SuspiciousIPPatch is the body of PATCH /attack-protection/suspicious-ip-throttling.
type SuspiciousIPPatch struct {
	Enabled             Patch[bool]
	Shields             Patch[[]string]
	Allowlist           Patch[[]string]
	PreLogin            Patch[ThrottleStage]
	PreUserRegistration Patch[ThrottleStage]
}

// ErrNoSettingsStore: the store keeps no settings, so they cannot change.
var ErrNoSettingsStore = errors.New("the store keeps no settings")

// AdminUpdateBruteForce applies a patch and returns the settings as stored.
func (s *Service) AdminUpdateBruteForce(ctx context.Context, p BruteForcePatch) (BruteForceProtection, error) {
	if err := checkShields("shields", p.Shields, ShieldBlock, ShieldUserNotification); err != nil {
		return BruteForceProtection{}, err
	}
	if err := checkAllowlist(p.Allowlist); err != nil {
		return BruteForceProtection{}, err
	}
	if p.Mode.Set && p.Mode.Value != ModePerIdentifierAndIP && p.Mode.Value != ModePerIdentifier {
		return BruteForceProtection{}, payloadError("mode", "'No enum match for: %q' on property mode.", quoteInput(p.Mode.Value))
	}
	if p.MaxAttempts.Set && (p.MaxAttempts.Value < 1 || p.MaxAttempts.Value > 100) {
		return BruteForceProtection{}, payloadError("max_attempts", "'max_attempts must be 1 to 100' on property max_attempts.")
	}
	ap, err := s.updateAttackSettings(ctx, func(ap *AttackProtection) {
		b := &ap.BruteForce
		setIf(&b.Enabled, p.Enabled)
		setIf(&b.Shields, p.Shields)
		setIf(&b.Allowlist, p.Allowlist)
		setIf(&b.Mode, p.Mode)
		setIf(&b.MaxAttempts, p.MaxAttempts)
	})
	return ap.BruteForce, err
}

// AdminUpdateSuspiciousIP applies a patch and returns the settings as stored.
func (s *Service) AdminUpdateSuspiciousIP(ctx context.Context, p SuspiciousIPPatch) (SuspiciousIPThrottling, error) {
	if err := checkShields("shields", p.Shields, ShieldBlock, ShieldAdminNotify); err != nil {
		return SuspiciousIPThrottling{}, err
	}
	if err := checkAllowlist(p.Allowlist); err != nil {
		return SuspiciousIPThrottling{}, err
	}
	for _, st := range []struct {
		name string
		p    Patch[ThrottleStage]
	}{{"pre-login", p.PreLogin}, {"pre-user-registration", p.PreUserRegistration}} {
		if !st.p.Set {
			continue
		}
		if v := st.p.Value; v.MaxAttempts < 1 || v.MaxAttempts > 100_000 || v.Rate < 1 || v.Rate > int64(24*time.Hour/time.Millisecond) {
			return SuspiciousIPThrottling{}, payloadError("stage", "'stage.%s needs max_attempts 1 to 100000 and rate 1 to 86400000 (ms)' on property stage.", st.name)
		}
	}
	ap, err := s.updateAttackSettings(ctx, func(ap *AttackProtection) {
		t := &ap.SuspiciousIP
		setIf(&t.Enabled, p.Enabled)
		setIf(&t.Shields, p.Shields)
		setIf(&t.Allowlist, p.Allowlist)
		setIf(&t.Stage.PreLogin, p.PreLogin)
		setIf(&t.Stage.PreUserRegistration, p.PreUserRegistration)
	})
	return ap.SuspiciousIP, err
}

func setIf[T any](dst *T, p Patch[T]) {
	if p.Set && !p.Null {
		*dst = p.Value
	}
}

func (s *Service) updateAttackSettings(ctx context.Context, change func(*AttackProtection)) (AttackProtection, error) {
	if s.settings == nil {
		return AttackProtection{}, ErrNoSettingsStore
	}
	var out AttackProtection
	_, err := s.settings.UpdateSetting(ctx, attackProtectionSetting, func(cur []byte) ([]byte, error) {
		ap := DefaultAttackProtection()
		if cur != nil {
			if err := json.Unmarshal(cur, &ap); err != nil {
				return nil, fmt.Errorf("decode attack-protection settings: %w", err)
			}
		}
		change(&ap)
		out = ap
		return json.Marshal(ap)
	})
	if err != nil {
		return AttackProtection{}, err
	}
	s.changed(ctx, storage.TopicSettings)
	return out, nil
}

func checkShields(field string, p Patch[[]string], allowed ...string) error {
	if !p.Set {
		return nil
	}
	if p.Null {
		return payloadError(field, "'Expected type array but found type null' on property %s.", field)
	}
	for _, sh := range p.Value {
		if !slices.Contains(allowed, sh) {
			return payloadError(field, "'No enum match for: %q; want %s' on property %s.", quoteInput(sh), strings.Join(allowed, ", "), field)
		}
	}
	return nil
}

func checkAllowlist(p Patch[[]string]) error {
	if !p.Set {
		return nil
	}
	if len(p.Value) > maxAllowlist {
		return payloadError("allowlist", "'Array is too long (%d), maximum %d' on property allowlist.", len(p.Value), maxAllowlist)
	}
	for _, e := range p.Value {
		if _, err := ParsePrefix(e); err != nil {
			return payloadError("allowlist", "'%s is neither an IP address nor a CIDR range' on property allowlist.", quoteInput(e))
		}
	}
	return nil
}

// ParsePrefix reads an allowlist entry: an IP address (a one-address prefix) or a CIDR range.
func ParsePrefix(e string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(e); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(e)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// inAllowlist says whether ip is in one of the prefixes.
func inAllowlist(ip string, list []netip.Prefix) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, p := range list {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// bruteForceKey is the IP a failure is counted under: the client's, or one for all IPs
// when failures count per identifier alone.
func bruteForceKey(b BruteForceProtection, ip string) string {
	if b.Mode == ModePerIdentifier {
		return "*"
	}
	return ip
}

// throttleLimit is a stage as a GCRA limit.
func throttleLimit(st ThrottleStage) storage.Limit {
	return storage.Limit{Burst: st.MaxAttempts, Interval: time.Duration(st.Rate) * time.Millisecond}
}
