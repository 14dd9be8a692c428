package redis

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/latchauth/latch/storage"
)

// fill sets every field of the struct v points to a value that is not zero, and distinct
// per field, so that a field the codec leaves out shows.
func fill(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v).Elem()
	base := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	for i := range rv.NumField() {
		f, name := rv.Field(i), rv.Type().Field(i).Name
		switch x := f.Addr().Interface().(type) {
		case *string:
			*x = "value of " + name
		case *int:
			*x = 1000 + i
		case *time.Time:
			*x = base.Add(time.Duration(i) * time.Hour)
		case *[]string:
			*x = []string{name + "-1", name + "-2"}
		case *storage.Metadata:
			*x = storage.Metadata{"field": name, "n": json.Number(fmt.Sprint(i)), "list": []any{"a", json.Number("2.5")}}
		default:
			t.Fatalf("%s.%s: the test does not know how to fill a %s", rv.Type().Name(), name, f.Type())
		}
	}
}

// Every field of the records round-trips: a field added to a storage type and forgotten in
// the codec fails here.
func TestCodecKeepsEveryField(t *testing.T) {
	var tx storage.LoginTransaction
	fill(t, &tx)
	data, err := encodeTransaction(tx)
	must(t, err)
	gotTx, err := decodeTransaction(data)
	must(t, err)
	if !reflect.DeepEqual(gotTx, tx) {
		t.Errorf("transaction round trip:\n got %+v\nwant %+v", gotTx, tx)
	}

	var x storage.Session
	fill(t, &x)
	data, err = encodeSession(x)
	must(t, err)
	gotX, err := decodeSession(data)
	must(t, err)
	if !reflect.DeepEqual(gotX, x) {
		t.Errorf("session round trip:\n got %+v\nwant %+v", gotX, x)
	}

	var c storage.AuthCode
	fill(t, &c)
	data, err = encodeCode(c)
	must(t, err)
	gotC, err := decodeCode(data)
	must(t, err)
	if !reflect.DeepEqual(gotC, c) {
		t.Errorf("code round trip:\n got %+v\nwant %+v", gotC, c)
	}
}

// The zero time and nil metadata come back as they went.
func TestCodecZeroValues(t *testing.T) {
	data, err := encodeCode(storage.AuthCode{ID: "c"})
	must(t, err)
	if string(data) != `{"id":"c"}` {
		t.Errorf("empty code encodes as %s", data)
	}
	c, err := decodeCode(data)
	must(t, err)
	if !c.AuthTime.IsZero() || !c.ExpiresAt.IsZero() || c.IDClaims != nil || c.AccessClaims != nil {
		t.Errorf("empty code decodes as %+v", c)
	}
}
