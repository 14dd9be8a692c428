package flow

import (
	"context"

	"github.com/latchauth/latch/rules"
)

// postLoginScripts returns what runs after a successful authentication: the enabled rules
// in order, then the actions bound to post-login in order, and the rules configuration.
func (s *Service) postLoginScripts(ctx context.Context) ([]rules.Script, map[string]string, error) {
	scripts, configuration, err := s.EnabledRules(ctx)
	if err != nil {
		return nil, nil, err
	}
	actions, err := s.boundActions(ctx, rules.TriggerPostLogin)
	if err != nil {
		return nil, nil, err
	}
	return append(scripts, actions...), configuration, nil
}
