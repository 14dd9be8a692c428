package storagetest

import (
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/latchauth/latch/storage"
)

// RunTickets is the conformance suite of storage.Tickets. newStore returns a fresh, empty
// store (closed by the caller's cleanup).
func RunTickets(t *testing.T, newStore func(t *testing.T) storage.Tickets) {
	tests := []struct {
		name string
		run  func(t *testing.T, s storage.Tickets)
	}{
		{"CreateGet", testTicketCreateGet},
		{"ConsumeOnce", testTicketConsumeOnce},
		{"ConsumeConcurrently", testTicketConsumeConcurrently},
		{"Expiry", testTicketExpiry},
		{"Kinds", testTicketKinds},
		{"RevokeUser", testTicketRevokeUser},
		{"DeleteExpired", testTicketDeleteExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

func newTicket(n int, kind, user string) storage.Ticket {
	token := storage.NewOpaqueToken()
	return storage.Ticket{
		ID: storage.TokenID(token), Kind: kind, UserID: user, Email: user + "@example.com",
		ClientID: "client-1", ResultURL: "https://app.example.com/done?x=1", IncludeEmailInRedirect: true,
		MarkEmailVerified: kind == storage.TicketResetPassword,
		CreatedAt:         at(n), ExpiresAt: at(n + 60),
	}
}

func testTicketCreateGet(t *testing.T, s storage.Tickets) {
	ctx := t.Context()
	tk := newTicket(1, storage.TicketResetPassword, "auth0|a")
	// A creation time with sub-millisecond digits comes back truncated.
	tk.CreatedAt = base.Add(tk.CreatedAt.Sub(storage.Time(base)))
	must(t, "CreateTicket", s.CreateTicket(ctx, tk))
	wantErr(t, "CreateTicket twice", s.CreateTicket(ctx, tk), storage.ErrAlreadyExists)

	got, err := s.GetTicket(ctx, tk.ID, tk.Kind, at(2))
	must(t, "GetTicket", err)
	want := tk
	want.CreatedAt = storage.Time(tk.CreatedAt)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetTicket =\n%+v\nwant\n%+v", got, want)
	}
	// Reading does not use it up.
	if _, err := s.GetTicket(ctx, tk.ID, tk.Kind, at(3)); err != nil {
		t.Errorf("GetTicket again: %v", err)
	}
	_, err = s.GetTicket(ctx, storage.TokenID("not a token"), tk.Kind, at(2))
	wantErr(t, "GetTicket unknown", err, storage.ErrNotFound)
}

func testTicketConsumeOnce(t *testing.T, s storage.Tickets) {
	ctx := t.Context()
	tk := newTicket(1, storage.TicketVerifyEmail, "auth0|a")
	must(t, "CreateTicket", s.CreateTicket(ctx, tk))
	got, err := s.ConsumeTicket(ctx, tk.ID, tk.Kind, at(2))
	must(t, "ConsumeTicket", err)
	if got.UserID != tk.UserID || got.Email != tk.Email || got.ResultURL != tk.ResultURL || !got.ExpiresAt.Equal(tk.ExpiresAt) {
		t.Errorf("ConsumeTicket = %+v, want %+v", got, tk)
	}
	_, err = s.ConsumeTicket(ctx, tk.ID, tk.Kind, at(2))
	wantErr(t, "ConsumeTicket again", err, storage.ErrNotFound)
	_, err = s.GetTicket(ctx, tk.ID, tk.Kind, at(2))
	wantErr(t, "GetTicket after use", err, storage.ErrNotFound)
}

// Of many concurrent consumers of one ticket, exactly one wins.
func testTicketConsumeConcurrently(t *testing.T, s storage.Tickets) {
	ctx := t.Context()
	tk := newTicket(1, storage.TicketResetPassword, "auth0|a")
	must(t, "CreateTicket", s.CreateTicket(ctx, tk))
	const n = 16
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		wins, notFounds int
		others          []error
	)
	for range n {
		wg.Go(func() {
			_, err := s.ConsumeTicket(ctx, tk.ID, tk.Kind, at(2))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, storage.ErrNotFound):
				notFounds++
			default:
				others = append(others, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || notFounds != n-1 || len(others) > 0 {
		t.Fatalf("%d concurrent consumers: %d won, %d found nothing, other errors %v; want exactly one winner", n, wins, notFounds, others)
	}
}

func testTicketExpiry(t *testing.T, s storage.Tickets) {
	ctx := t.Context()
	tk := newTicket(1, storage.TicketUnblock, "auth0|a") // expires at at(61)
	must(t, "CreateTicket", s.CreateTicket(ctx, tk))
	if _, err := s.GetTicket(ctx, tk.ID, tk.Kind, at(60)); err != nil {
		t.Fatalf("GetTicket a minute before expiry: %v", err)
	}
	_, err := s.GetTicket(ctx, tk.ID, tk.Kind, at(61))
	wantErr(t, "GetTicket at expiry", err, storage.ErrNotFound)
	_, err = s.ConsumeTicket(ctx, tk.ID, tk.Kind, at(62))
	wantErr(t, "ConsumeTicket after expiry", err, storage.ErrNotFound)
	// An expired ticket is not revived by an earlier clock either: consuming it late failed,
	// but it is still there for a caller whose clock says it is valid (the store judges only
	// by the now it is given).
	if _, err := s.ConsumeTicket(ctx, tk.ID, tk.Kind, at(10)); err != nil {
		t.Fatalf("ConsumeTicket before expiry after a refused late attempt: %v", err)
	}
}

// A ticket presented as another kind is neither found nor spent.
func testTicketKinds(t *testing.T, s storage.Tickets) {
	ctx := t.Context()
	tk := newTicket(1, storage.TicketVerifyEmail, "auth0|a")
	must(t, "CreateTicket", s.CreateTicket(ctx, tk))
	_, err := s.ConsumeTicket(ctx, tk.ID, storage.TicketResetPassword, at(2))
	wantErr(t, "ConsumeTicket of another kind", err, storage.ErrNotFound)
	_, err = s.GetTicket(ctx, tk.ID, storage.TicketUnblock, at(2))
	wantErr(t, "GetTicket of another kind", err, storage.ErrNotFound)
	if _, err := s.ConsumeTicket(ctx, tk.ID, storage.TicketVerifyEmail, at(2)); err != nil {
		t.Fatalf("ConsumeTicket of its own kind after a wrong-kind attempt: %v", err)
	}
}

func testTicketRevokeUser(t *testing.T, s storage.Tickets) {
	ctx := t.Context()
	a1 := newTicket(1, storage.TicketResetPassword, "auth0|a")
	a2 := newTicket(2, storage.TicketResetPassword, "auth0|a")
	a3 := newTicket(3, storage.TicketVerifyEmail, "auth0|a")
	b1 := newTicket(4, storage.TicketResetPassword, "auth0|b")
	for _, tk := range []storage.Ticket{a1, a2, a3, b1} {
		must(t, "CreateTicket", s.CreateTicket(ctx, tk))
	}
	n, err := s.RevokeUserTickets(ctx, "auth0|a", storage.TicketResetPassword)
	must(t, "RevokeUserTickets", err)
	if n != 2 {
		t.Errorf("RevokeUserTickets(reset) = %d, want 2", n)
	}
	for _, tk := range []storage.Ticket{a1, a2} {
		_, err := s.GetTicket(ctx, tk.ID, tk.Kind, at(5))
		wantErr(t, "GetTicket of a revoked ticket", err, storage.ErrNotFound)
	}
	for _, tk := range []storage.Ticket{a3, b1} {
		if _, err := s.GetTicket(ctx, tk.ID, tk.Kind, at(5)); err != nil {
			t.Errorf("GetTicket of a ticket not revoked (%s of %s): %v", tk.Kind, tk.UserID, err)
		}
	}
	n, err = s.RevokeUserTickets(ctx, "auth0|a", "")
	must(t, "RevokeUserTickets all kinds", err)
	if n != 1 {
		t.Errorf("RevokeUserTickets(all) = %d, want 1", n)
	}
	if n, err := s.RevokeUserTickets(ctx, "auth0|nobody", ""); err != nil || n != 0 {
		t.Errorf("RevokeUserTickets of a user without tickets = %d, %v", n, err)
	}
}

func testTicketDeleteExpired(t *testing.T, s storage.Tickets) {
	ctx := t.Context()
	old := newTicket(0, storage.TicketVerifyEmail, "auth0|a") // expires at(60)
	young := newTicket(30, storage.TicketUnblock, "auth0|a")  // expires at(90)
	must(t, "CreateTicket", s.CreateTicket(ctx, old))
	must(t, "CreateTicket", s.CreateTicket(ctx, young))
	n, err := s.DeleteExpiredTickets(ctx, at(61))
	must(t, "DeleteExpiredTickets", err)
	if n != 1 {
		t.Errorf("DeleteExpiredTickets = %d, want 1", n)
	}
	// Gone for any clock, even one before its expiry.
	_, err = s.GetTicket(ctx, old.ID, old.Kind, at(1))
	wantErr(t, "GetTicket of a deleted ticket", err, storage.ErrNotFound)
	if _, err := s.GetTicket(ctx, young.ID, young.Kind, at(61)); err != nil {
		t.Errorf("GetTicket of a live ticket after the sweep: %v", err)
	}
}
