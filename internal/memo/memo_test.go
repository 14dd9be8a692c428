package memo

import (
	"sync"
	"testing"
)

func TestMapBoundedAndConsistent(t *testing.T) {
	m := New[string, int](3)
	m.Put("a", 1)
	m.Put("b", 2)
	m.Put("a", 10) // replacing does not count against the bound
	m.Put("c", 3)
	if v, ok := m.Get("a"); !ok || v != 10 || m.Len() != 3 {
		t.Fatalf("before full: a=%v %v len=%d", v, ok, m.Len())
	}
	m.Put("d", 4) // full: starts over
	if _, ok := m.Get("a"); ok || m.Len() != 1 {
		t.Fatalf("after overflow: len %d, a still there: %v", m.Len(), ok)
	}
	if v, ok := m.Get("d"); !ok || v != 4 {
		t.Fatalf("d = %v %v", v, ok)
	}
	m.Delete("d")
	if _, ok := m.Get("d"); ok {
		t.Fatal("deleted key still there")
	}
}

func TestMapConcurrent(t *testing.T) {
	m := New[int, int](50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				m.Put(g*1000+i, i)
				if v, ok := m.Get(g*1000 + i); ok && v != i {
					t.Errorf("got %d for %d", v, i)
				}
			}
		})
	}
	wg.Wait()
	if m.Len() > 50 {
		t.Fatalf("len %d exceeds the bound", m.Len())
	}
}
