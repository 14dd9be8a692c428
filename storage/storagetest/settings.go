package storagetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/latchauth/latch/storage"
)

// RunSettings is the conformance suite of storage.Settings; newStore returns a fresh, empty
// store (closed by the caller's cleanup).
func RunSettings(t *testing.T, newStore func(t *testing.T) storage.Settings) {
	t.Run("GetUpdate", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		if _, err := s.GetSetting(ctx, "attack_protection"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("GetSetting of a setting never set = %v, want ErrNotFound", err)
		}
		got, err := s.UpdateSetting(ctx, "attack_protection", func(cur []byte) ([]byte, error) {
			if cur != nil {
				t.Errorf("first update saw %q, want nil", cur)
			}
			return []byte(`{"a":1}`), nil
		})
		must(t, "UpdateSetting", err)
		if string(got) != `{"a":1}` {
			t.Errorf("UpdateSetting returned %q", got)
		}
		_, err = s.UpdateSetting(ctx, "attack_protection", func(cur []byte) ([]byte, error) {
			if string(cur) != `{"a":1}` {
				t.Errorf("second update saw %q", cur)
			}
			return []byte(`{"a":2}`), nil
		})
		must(t, "UpdateSetting", err)
		if v, err := s.GetSetting(ctx, "attack_protection"); err != nil || string(v) != `{"a":2}` {
			t.Errorf("GetSetting = %q, %v", v, err)
		}
		if _, err := s.GetSetting(ctx, "other"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("another name = %v, want ErrNotFound", err)
		}
		boom := errors.New("boom")
		if _, err := s.UpdateSetting(ctx, "attack_protection", func([]byte) ([]byte, error) { return nil, boom }); err != boom {
			t.Errorf("a failing updater = %v, want its error", err)
		}
		if v, _ := s.GetSetting(ctx, "attack_protection"); string(v) != `{"a":2}` {
			t.Errorf("after a failing updater: %q", v)
		}
	})
	t.Run("ConcurrentUpdatesAllLand", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				_, err := s.UpdateSetting(t.Context(), "counter", func(cur []byte) ([]byte, error) {
					return append(cur, 'x'), nil
				})
				if err != nil {
					t.Errorf("UpdateSetting: %v", err)
				}
			})
		}
		wg.Wait()
		if v, _ := s.GetSetting(t.Context(), "counter"); len(v) != 10 {
			t.Errorf("after 10 concurrent appends: %q, want 10 bytes", v)
		}
	})
}
