package flow

import (
	"context"

	"github.com/latchauth/latch/rules"
)

// postLoginScripts returns what runs after a successful authentication: the enabled rules
// in order, and the rules configuration. (Post-login actions will follow the rules.)
func (s *Service) postLoginScripts(ctx context.Context) ([]rules.Script, map[string]string, error) {
	return s.EnabledRules(ctx)
}
