package flow

import (
	"context"

	"github.com/latchauth/latch/storage"
)

// Caches and instances: this Service keeps the enabled rules, the bound actions and the
// origins clients allow in memory, and drops them when it writes them. When several
// instances share a store, a write on one must reach the others' memories too: every
// write also publishes a change notice (storage.Changes), and every instance drops its
// cache of the topic when a notice arrives (DropCaches), within the notice's delivery time.

// SetChanges makes the Service publish a notice after each write of something cached.
// Call it before serving.
func (s *Service) SetChanges(c storage.Changes) { s.changes = c }

// changed drops this instance's cache of topic and tells the other instances. A notice
// that cannot be published is logged: the other instances then serve their cache until
// their next reload, which the caller cannot repair by failing the write it already made.
func (s *Service) changed(ctx context.Context, topic string) {
	s.DropCaches(topic)
	if s.changes == nil {
		return
	}
	if err := s.changes.Publish(context.WithoutCancel(ctx), topic); err != nil {
		s.log.WarnContext(ctx, "publishing a change notice", "topic", topic, "error", err)
	}
}

// DropCaches forgets what this instance keeps in memory of topic (storage.Topic*); the
// next use reloads it from the store.
func (s *Service) DropCaches(topic string) {
	switch topic {
	case storage.TopicRules:
		s.enabledRules.invalidate()
		s.invalidateActions()
	case storage.TopicClients:
		s.corsOrigins.invalidate()
	case storage.TopicSettings:
		s.attack.invalidate()
	}
}

// Changed tells the other instances that topic changed, for writes made outside this
// Service (signing keys, which tokens.KeySet rotates); this instance's own caches of it are
// the writer's to refresh.
func (s *Service) Changed(ctx context.Context, topic string) { s.changed(ctx, topic) }
