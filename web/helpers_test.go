package web

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// doc is a parsed page. It is parsed with scripting off, so that the content of <noscript> is
// markup that the checks see too.
type doc struct {
	t    *testing.T
	root *html.Node
	raw  string
}

func parseHTML(t *testing.T, out []byte) doc {
	t.Helper()
	root, err := html.ParseWithOptions(bytes.NewReader(out), html.ParseOptionEnableScripting(false))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc{t, root, string(out)}
}

// all returns the elements for which match is true, in document order.
func (d doc) all(match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	return out
}

// tag returns the elements named name.
func (d doc) tag(name string) []*html.Node {
	return d.all(func(n *html.Node) bool { return n.Data == name })
}

// byID returns the element with that id, or nil.
func (d doc) byID(id string) *html.Node {
	found := d.all(func(n *html.Node) bool { v, ok := attr(n, "id"); return ok && v == id })
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

// attr is an attribute's value and whether it is there.
func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// text is the text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// contains reports whether s occurs, decoded, in some text node or attribute value: that is
// where a value that was escaped properly ends up.
func (d doc) contains(s string) bool {
	found := false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode && strings.Contains(n.Data, s) {
			found = true
		}
		for _, a := range n.Attr {
			if strings.Contains(a.Val, s) {
				found = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	return found
}
