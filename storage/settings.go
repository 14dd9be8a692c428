package storage

import "context"

// Settings stores tenant-wide settings, each a JSON document under a name
// ("attack_protection"). Settings are few and small; the service caches them and drops its
// cache on a TopicSettings change notice.
type Settings interface {
	// GetSetting returns the setting's JSON; ErrNotFound when it was never set.
	GetSetting(ctx context.Context, name string) ([]byte, error)
	// UpdateSetting replaces the setting with what update returns, given the current JSON (nil
	// when never set); see the package contract for updaters. It returns what was stored.
	UpdateSetting(ctx context.Context, name string, update func(current []byte) ([]byte, error)) ([]byte, error)
}
