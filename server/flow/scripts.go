package flow

import (
	"context"

	"github.com/latchauth/latch/rules"
)

// postLoginScripts returns the enabled rules in order (then the post-login actions) and
// the rules configuration. Until rules can be stored, there are none.
func (s *Service) postLoginScripts(ctx context.Context) ([]rules.Script, map[string]string, error) {
	return nil, nil, nil
}
