package sqlite

import (
	"sync"

	"github.com/latchauth/latch/storage"
)

// userCacheSize bounds the profiles kept in memory (a few KB each).
const userCacheSize = 4096

// userCache keeps recently read profiles by id. /userinfo reads the profile of every call,
// and serving it from memory instead of SQLite is most of that endpoint's speed. It is
// correct because every write goes through this Store (the lock file guarantees no other
// writer) and every user write invalidates the entry after it commits.
//
// The generation closes the race between a reader and a writer: a reader notes the
// generation before it queries, and its result is kept only if no write happened since.
type userCache struct {
	mu    sync.Mutex
	gen   uint64
	users map[string]storage.User
}

func newUserCache() *userCache { return &userCache{users: make(map[string]storage.User)} }

// get returns a copy of the cached user; callers may change it freely.
func (c *userCache) get(id string) (storage.User, bool) {
	c.mu.Lock()
	u, ok := c.users[id]
	c.mu.Unlock()
	if !ok {
		return storage.User{}, false
	}
	return cloneUser(u), true
}

// generation is read before querying the database for a user to put.
func (c *userCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps u unless a write happened since gen was read.
func (c *userCache) put(u storage.User, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.users) >= userCacheSize {
		clear(c.users)
	}
	c.users[u.ID] = cloneUser(u)
}

// invalidate forgets a user after a write to it has committed.
func (c *userCache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.users, id)
}

func cloneUser(u storage.User) storage.User {
	u.UserMetadata = u.UserMetadata.Clone()
	u.AppMetadata = u.AppMetadata.Clone()
	return u
}

// invalidateAll forgets every user, after a write to many (an import) has committed.
func (c *userCache) invalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.users)
}
