package crush_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/mahou-go/mahou/client/crush"
)

func TestClient_History(t *testing.T) {
	c, ctx := setup(t)
	for i := range 5 {
		mustPut(t, c, ctx, "k", fmt.Sprintf("value %d", i), nil)
	}
	if _, err := c.Delete(ctx, "k", nil); err != nil {
		t.Fatal(err)
	}
	page, err := c.History(ctx, "k", &crush.HistoryOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.History) != 2 || page.History[0].Rev != 5 || page.History[0].Op != "delete" || !page.History[0].Deleted {
		t.Fatalf("got first page %+v, want the tombstone at rev 5 first", page.History)
	}
	if page.Next == nil || *page.Next != 4 || page.Revision != 6 || page.Key != "k" || page.Fork != "default" {
		t.Fatalf("got next %v revision %d, want next 4 revision 6", page.Next, page.Revision)
	}
	if e := page.History[1]; e.Rev != 4 || e.Op != "put" || e.Size != len("value 4") || e.Revision != 5 || e.Time.IsZero() {
		t.Fatalf("got %+v, want rev 4 put of 7 bytes at revision 5", e)
	}
	var revs []uint64
	for e, err := range c.HistoryAll(ctx, "k", &crush.HistoryOptions{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, e.Rev)
	}
	if want := []uint64{5, 4, 3, 2, 1, 0}; !reflect.DeepEqual(revs, want) {
		t.Fatalf("got revs %v, want %v", revs, want)
	}
	for _, err := range c.HistoryAll(ctx, "missing", nil) {
		if !errors.Is(err, crush.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	}
}

func TestClient_Diff(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "k", "test 2", nil)
	mustPut(t, c, ctx, "k", "test 1", nil)
	d, err := c.Diff(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []crush.Edit{{Op: "eq", Data: []byte("test ")}, {Op: "del", Data: []byte("2")}, {Op: "ins", Data: []byte("1")}}
	if !reflect.DeepEqual(d.Edits, want) || d.From.Rev != 0 || d.To.Rev != 1 || d.From.Fork != "default" {
		t.Fatalf("got %+v, want rev 0 -> 1 with %v", d, want)
	}
	if got, err := crush.Apply([]byte("test 2"), d.Edits); err != nil || string(got) != "test 1" {
		t.Fatalf("apply: got %q, %v, want test 1", got, err)
	}
	if _, err := c.Fork(ctx, crush.ForkRequest{From: "default", To: "b", Target: crush.Key("k")}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, ctx, "k", "test 1b", &crush.PutOptions{Fork: "b"})
	d, err = c.Diff(ctx, "k", &crush.DiffOptions{From: "default@1", To: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if d.From != (crush.DiffPoint{Fork: "default", Rev: 1}) || d.To != (crush.DiffPoint{Fork: "b", Rev: 2}) {
		t.Fatalf("got %+v -> %+v, want default@1 -> b@2", d.From, d.To)
	}
	if got, err := crush.Apply([]byte("test 1"), d.Edits); err != nil || string(got) != "test 1b" {
		t.Fatalf("apply: got %q, %v, want test 1b", got, err)
	}
	_, err = c.Diff(ctx, "k", &crush.DiffOptions{From: "default@x"})
	apiError(t, err, 400, "invalid_point")
	_, err = c.Diff(ctx, "k", &crush.DiffOptions{To: "@0"})
	apiError(t, err, 400, "invalid_point")
}

func TestApply(t *testing.T) {
	cases := []struct {
		name   string
		from   string
		script []crush.Edit
		want   string
		ok     bool
	}{
		{"empty", "", nil, "", true},
		{"insert", "", []crush.Edit{{Op: "ins", Data: []byte("x")}}, "x", true},
		{"replace", "ab", []crush.Edit{{Op: "eq", Data: []byte("a")}, {Op: "del", Data: []byte("b")}, {Op: "ins", Data: []byte("c")}}, "ac", true},
		{"eq mismatch", "ab", []crush.Edit{{Op: "eq", Data: []byte("x")}}, "", false},
		{"uncovered", "ab", []crush.Edit{{Op: "eq", Data: []byte("a")}}, "", false},
		{"unknown op", "a", []crush.Edit{{Op: "skip", Data: []byte("a")}}, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := crush.Apply([]byte(tc.from), tc.script)
			if (err == nil) != tc.ok || tc.ok && string(got) != tc.want {
				t.Fatalf("got %q, %v, want %q (ok %v)", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestClient_Revert(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "k", "good", nil)
	mustPut(t, c, ctx, "k", "bad", nil)
	res, err := c.Revert(ctx, "k", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rev != 2 || res.RevertedTo != 0 || res.Revision != 3 {
		t.Fatalf("got %+v, want rev 2 reverted to 0 at revision 3", res)
	}
	rec, err := c.Get(ctx, "k", nil)
	if err != nil || string(rec.Value) != "good" || rec.Op != "revert" {
		t.Fatalf("got %+v, %v, want good written by revert", rec, err)
	}
	_, err = c.Revert(ctx, "k", 0, &crush.RevertOptions{If: crush.IfMatch(1)})
	if e := apiError(t, err, 412, "precondition_failed"); *e.CurrentRev != 2 {
		t.Fatalf("got current_rev %d, want 2", *e.CurrentRev)
	}
	_, err = c.Revert(ctx, "k", 7, nil)
	apiError(t, err, 404, "rev_not_found")
	_, err = c.Revert(ctx, "nope", 0, &crush.RevertOptions{Fork: "other"})
	apiError(t, err, 404, "not_found")
}
