package redis

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/redistest"
	"github.com/latchauth/latch/storage"
)

// deliveryWait bounds every wait for a notice. It is not a timing assertion: a notice comes
// in milliseconds, and only a lost one runs into it.
const deliveryWait = 30 * time.Second

// topics collects what a subscription's fn receives.
type topics chan string

func (c topics) fn(topic string) { c <- topic }

// want waits for each of wanted, in any order (others may come between).
func (c topics) want(t *testing.T, what string, wanted ...string) {
	t.Helper()
	missing := slices.Clone(wanted)
	deadline := time.After(deliveryWait)
	for len(missing) > 0 {
		select {
		case got := <-c:
			if i := slices.Index(missing, got); i >= 0 {
				missing = slices.Delete(missing, i, i+1)
			}
		case <-deadline:
			t.Fatalf("%s: %v not received within %v", what, missing, deliveryWait)
		}
	}
}

// Two States are two instances: a notice published by one reaches the subscribers of both.
func TestChanges(t *testing.T) {
	testChanges(t, redistest.URL(t), redistest.Prefix(t))
}

func testChanges(t *testing.T, url, prefix string) {
	a, b := open(t, url, WithPrefix(prefix)), open(t, url, WithPrefix(prefix))
	ctx := t.Context()

	atA, atB := make(topics, 64), make(topics, 64)
	must(t, a.Subscribe(ctx, atA.fn))
	must(t, b.Subscribe(ctx, atB.fn))

	// Subscribe has returned, so these are delivered: nothing to wait for before publishing.
	must(t, a.Publish(ctx, storage.TopicRules))
	atB.want(t, "the other instance", storage.TopicRules)
	atA.want(t, "the publishing instance", storage.TopicRules)

	must(t, b.Publish(ctx, storage.TopicKeys))
	must(t, b.Publish(ctx, storage.TopicClients))
	atA.want(t, "notices in order", storage.TopicKeys, storage.TopicClients)

	// Another prefix is another deployment: its notices do not arrive here.
	other := open(t, url, WithPrefix(prefix+"other:"))
	atOther := make(topics, 64)
	must(t, other.Subscribe(ctx, atOther.fn))
	must(t, a.Publish(ctx, storage.TopicSettings))
	must(t, other.Publish(ctx, "marker"))
	atOther.want(t, "the other deployment's own notice", "marker")
	atA.want(t, "after the other deployment's notice", storage.TopicSettings)
	for len(atOther) > 0 {
		if got := <-atOther; got != "marker" {
			t.Errorf("another prefix received %q", got)
		}
	}
}

// A subscription ends with its context, or with Close: Close waits for it, so a loop that
// did not end would hang the test.
func TestSubscriptionEnds(t *testing.T) {
	subscriptionEnds(t, redistest.URL(t), redistest.Prefix(t))
}

func subscriptionEnds(t *testing.T, url, prefix string) {
	s, err := New(t.Context(), url, WithPrefix(prefix))
	must(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	must(t, s.Subscribe(ctx, func(string) {}))
	must(t, s.Subscribe(t.Context(), func(string) {}))
	cancel()
	must(t, s.Close())
	if err := s.Subscribe(t.Context(), func(string) {}); err == nil {
		t.Fatal("Subscribe on a closed State: no error")
	}
	if err := s.Publish(t.Context(), "x"); err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish on a closed State: %v, want an error other than ErrUnavailable", err)
	}
}
