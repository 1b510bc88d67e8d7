package crush_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mahou-go/mahou/client/crush"
)

func TestClient_PutGet(t *testing.T) {
	c, ctx := setup(t)
	first := mustPut(t, c, ctx, "app/config", "v0", nil)
	if first.Key != "app/config" || first.Fork != "default" || first.Rev != 0 || first.Revision != 1 {
		t.Fatalf("got first write %+v, want app/config default rev 0 revision 1", first)
	}
	before := time.Now()
	second := mustPut(t, c, ctx, "app/config", "v1", nil)
	if second.Rev != 1 || second.Revision != 2 {
		t.Fatalf("got second write %+v, want rev 1 revision 2", second)
	}
	cases := []struct {
		name string
		opts *crush.GetOptions
		want string
		rev  uint64
	}{
		{"now", nil, "v1", 1},
		{"rev", &crush.GetOptions{At: crush.AtRev(0)}, "v0", 0},
		{"revision", &crush.GetOptions{At: crush.AtRevision(1)}, "v0", 0},
		{"as of", &crush.GetOptions{At: crush.AsOf(before)}, "v0", 0},
		{"serializable", &crush.GetOptions{Serializable: true}, "v1", 1},
		{"default fork named", &crush.GetOptions{Fork: "default"}, "v1", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := c.Get(ctx, "app/config", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if string(rec.Value) != tc.want || rec.Rev != tc.rev {
				t.Fatalf("got %q rev %d, want %q rev %d", rec.Value, rec.Rev, tc.want, tc.rev)
			}
			if rec.Key != "app/config" || rec.Fork != "default" || rec.CreatedRevision != 1 || rec.Op != "put" || rec.Time.IsZero() {
				t.Fatalf("got record %+v", rec)
			}
		})
	}
	rec, err := c.Get(ctx, "app/config", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Revision != 2 || rec.ModRevision != 2 || rec.Ancestors == nil || rec.Deleted {
		t.Fatalf("got %+v, want revision 2, mod_revision 2, empty ancestors, not deleted", rec)
	}
}

func TestClient_PutForkAndOddKeys(t *testing.T) {
	c, ctx := setup(t)
	keys := []string{"a//b", "..", ".", "a/../b", "with space", "q?x=1#frag", "100%", "ключ/値", "trailing/"}
	for _, k := range keys {
		t.Run(k, func(t *testing.T) {
			mustPut(t, c, ctx, k, "in-b:"+k, &crush.PutOptions{Fork: "b"})
			rec, err := c.Get(ctx, k, &crush.GetOptions{Fork: "b"})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Key != k || rec.Fork != "b" || string(rec.Value) != "in-b:"+k {
				t.Fatalf("got %q in %q = %q", rec.Key, rec.Fork, rec.Value)
			}
			if _, err := c.Get(ctx, k, nil); !errors.Is(err, crush.ErrNotFound) {
				t.Fatalf("got %v in the default fork, want ErrNotFound", err)
			}
		})
	}
}

func TestClient_GetRaw(t *testing.T) {
	c, ctx := setup(t)
	value := []byte{0, 1, 2, 0xff, 0xfe, '\n'}
	mustPut(t, c, ctx, "bin", "x", nil)
	if _, err := c.Put(ctx, "bin", value, nil); err != nil {
		t.Fatal(err)
	}
	raw, err := c.GetRaw(ctx, "bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw.Value, value) || raw.Rev != 1 || raw.Revision != 2 || raw.ModRevision != 2 || raw.CreatedRevision != 1 {
		t.Fatalf("got %+v, want %v rev 1 revision 2 mod 2 created 1", raw, value)
	}
	old, err := c.GetRaw(ctx, "bin", &crush.GetOptions{At: crush.AtRev(0)})
	if err != nil || string(old.Value) != "x" {
		t.Fatalf("got %q, %v at rev 0, want x", old.Value, err)
	}
	empty := mustPut(t, c, ctx, "empty", "", nil)
	raw, err = c.GetRaw(ctx, "empty", nil)
	if err != nil || len(raw.Value) != 0 || raw.Rev != empty.Rev {
		t.Fatalf("got %+v, %v, want an empty value", raw, err)
	}
	if _, err := c.GetRaw(ctx, "missing", nil); !errors.Is(err, crush.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

func TestClient_PutPreconditions(t *testing.T) {
	c, ctx := setup(t)
	if _, err := c.Put(ctx, "k", []byte("a"), &crush.PutOptions{If: crush.IfNoneMatch()}); err != nil {
		t.Fatalf("create with If-None-Match: %v", err)
	}
	_, err := c.Put(ctx, "k", []byte("b"), &crush.PutOptions{If: crush.IfNoneMatch()})
	e := apiError(t, err, 412, "precondition_failed")
	if !errors.Is(err, crush.ErrPreconditionFailed) || e.CurrentRev == nil || *e.CurrentRev != 0 {
		t.Fatalf("got %+v, want current_rev 0", e)
	}
	if _, err := c.Put(ctx, "k", []byte("b"), &crush.PutOptions{If: crush.IfMatch(0)}); err != nil {
		t.Fatalf("If-Match: 0: %v", err)
	}
	_, err = c.Put(ctx, "k", []byte("c"), &crush.PutOptions{If: crush.IfMatch(0)})
	if e := apiError(t, err, 412, "precondition_failed"); e.CurrentRev == nil || *e.CurrentRev != 1 {
		t.Fatalf("got current_rev %v, want 1", e.CurrentRev)
	}
	_, err = c.Put(ctx, "absent", []byte("c"), &crush.PutOptions{If: crush.IfMatch(0)})
	if e := apiError(t, err, 412, "precondition_failed"); e.CurrentRev != nil {
		t.Fatalf("got current_rev %d for an absent key, want nil", *e.CurrentRev)
	}
}

func TestClient_Delete(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "k", "a", nil)
	_, err := c.Delete(ctx, "k", &crush.DeleteOptions{If: crush.IfMatch(5)})
	if e := apiError(t, err, 412, "precondition_failed"); *e.CurrentRev != 0 {
		t.Fatalf("got current_rev %d, want 0", *e.CurrentRev)
	}
	res, err := c.Delete(ctx, "k", &crush.DeleteOptions{If: crush.IfMatch(0)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rev != 1 || res.Revision != 2 || res.Purged {
		t.Fatalf("got %+v, want a tombstone at rev 1 revision 2", res)
	}
	_, err = c.Get(ctx, "k", nil)
	e := apiError(t, err, 404, "not_found")
	if !errors.Is(err, crush.ErrNotFound) || !e.Deleted || e.Rev != 1 {
		t.Fatalf("got %+v, want deleted at rev 1", e)
	}
	if rec, err := c.Get(ctx, "k", &crush.GetOptions{At: crush.AtRev(0)}); err != nil || string(rec.Value) != "a" {
		t.Fatalf("got %q, %v at rev 0 after the delete, want a", rec.Value, err)
	}
	if _, err := c.Delete(ctx, "k", nil); !errors.Is(err, crush.ErrNotFound) {
		t.Fatalf("deleting a deleted key: got %v, want ErrNotFound", err)
	}
	purged, err := c.Delete(ctx, "k", &crush.DeleteOptions{Purge: true})
	if err != nil || !purged.Purged {
		t.Fatalf("purge: got %+v, %v", purged, err)
	}
	if _, err := c.History(ctx, "k", nil); !errors.Is(err, crush.ErrNotFound) {
		t.Fatalf("history after purge: got %v, want ErrNotFound", err)
	}
}

func TestClient_Errors(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "k", "a", nil)
	cases := []struct {
		name     string
		call     func() error
		status   int
		code     string
		sentinel error
	}{
		{"missing key", func() error { _, err := c.Get(ctx, "nope", nil); return err }, 404, "not_found", crush.ErrNotFound},
		{"missing rev", func() error { _, err := c.Get(ctx, "k", &crush.GetOptions{At: crush.AtRev(9)}); return err }, 404, "rev_not_found", crush.ErrRevNotFound},
		{"future revision", func() error { _, err := c.Get(ctx, "k", &crush.GetOptions{At: crush.AtRevision(99)}); return err }, 400, "future_revision", crush.ErrInvalidArgument},
		{"negative revision", func() error { _, err := c.Get(ctx, "k", &crush.GetOptions{At: crush.AtRevision(-1)}); return err }, 400, "invalid_revision", crush.ErrInvalidArgument},
		{"empty key", func() error { _, err := c.Get(ctx, "", nil); return err }, 400, "invalid_key", crush.ErrInvalidArgument},
		{"bad fork", func() error { _, err := c.Get(ctx, "k", &crush.GetOptions{Fork: "a b"}); return err }, 400, "invalid_fork", crush.ErrInvalidArgument},
		{"key too large", func() error { _, err := c.Get(ctx, strings.Repeat("k", 5000), nil); return err }, 400, "key_too_large", crush.ErrInvalidArgument},
		{"value too large", func() error { _, err := c.Put(ctx, "big", make([]byte, 1536*1024+1), nil); return err }, 413, "value_too_large", crush.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			apiError(t, err, tc.status, tc.code)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("got %v, want it to match %v", err, tc.sentinel)
			}
			if errors.Is(err, crush.ErrConflict) {
				t.Fatalf("%v matches ErrConflict", err)
			}
			if want := " (" + tc.code + ")"; !strings.HasSuffix(err.Error(), want) {
				t.Fatalf("got message %q, want it to end with %q", err.Error(), want)
			}
		})
	}
}
