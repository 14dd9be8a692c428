package password

import (
	"crypto/rand"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// DefaultCost is the bcrypt cost Auth0 uses, and the one its user exports and imports carry
// ($2a$10$ / $2b$10$ hashes).
const DefaultCost = 10

// MaxBytes is the longest password prefix bcrypt reads. Auth0's legacy behaviour is to ignore
// the rest silently, and so does Hasher: a password is cut to its first 72 bytes (not
// characters: a multi-byte character may be cut in two, exactly as bcrypt elsewhere does)
// before it is hashed or verified. Two passwords that share their first 72 bytes are therefore
// the same password. golang.org/x/crypto/bcrypt refuses to hash longer passwords, which would
// lock out users imported from Auth0 with such a password.
const MaxBytes = 72

// Hasher hashes and verifies passwords with bcrypt. The zero Hasher uses DefaultCost.
type Hasher struct {
	// Cost is the bcrypt cost of new hashes (4–31). Verify reads the cost from the hash.
	Cost int
}

func (h Hasher) cost() int {
	if h.Cost == 0 {
		return DefaultCost
	}
	return h.Cost
}

// Hash returns the bcrypt hash of pw, in the modular crypt format ($2a$10$...).
func (h Hasher) Hash(pw string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword(truncate(pw), h.cost())
	if err != nil {
		return "", fmt.Errorf("password: hash: %w", err)
	}
	return string(hash), nil
}

// Verify reports whether pw matches hash. A malformed hash matches nothing.
func (h Hasher) Verify(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), truncate(pw)) == nil
}

// VerifyMissing spends the time of a failed Verify at the Hasher's cost, against a dummy hash.
// Call it when the user does not exist, so that an unknown user takes as long to refuse as a
// wrong password and the response time does not tell which users exist.
//
// The dummy hash of each cost is made on the first call that needs it; making it costs what
// verifying against it would, so that first call skips the comparison and still takes the
// usual time.
func (h Hasher) VerifyMissing(pw string) {
	hash, made := dummyHash(h.cost())
	if made {
		return
	}
	_ = bcrypt.CompareHashAndPassword(hash, truncate(pw))
}

var dummies struct {
	sync.Mutex
	byCost map[int][]byte
}

// dummyHash returns the dummy hash of cost, and whether this call made it. The hash is of a
// random password nobody knows; it is kept for the life of the process.
func dummyHash(cost int) (hash []byte, made bool) {
	dummies.Lock()
	defer dummies.Unlock()
	if hash, ok := dummies.byCost[cost]; ok {
		return hash, false
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		// Only an invalid cost fails, and then Hash fails too: there is no time to match.
		return nil, true
	}
	if dummies.byCost == nil {
		dummies.byCost = make(map[int][]byte)
	}
	dummies.byCost[cost] = hash
	return hash, true
}

func truncate(pw string) []byte {
	if len(pw) > MaxBytes {
		pw = pw[:MaxBytes]
	}
	return []byte(pw)
}
