package crush_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/mahou-go/mahou/client/crush"
)

func TestClient_Fork(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "app/a", "a0", nil)
	mustPut(t, c, ctx, "app/b", "b0", nil)
	mustPut(t, c, ctx, "other", "o", nil)
	mustPut(t, c, ctx, "app/a", "a1", nil)

	res, err := c.Fork(ctx, crush.ForkRequest{From: "default", To: "dev", Target: crush.Prefix("app/")})
	if err != nil {
		t.Fatal(err)
	}
	want := []crush.KeyResult{{Key: "app/a", Rev: 1, Result: "forked"}, {Key: "app/b", Rev: 0, Result: "forked"}}
	if !reflect.DeepEqual(res.Keys, want) || res.Revision != 5 {
		t.Fatalf("got %+v, want %v at revision 5", res, want)
	}
	rec, err := c.Get(ctx, "app/a", &crush.GetOptions{Fork: "dev"})
	if err != nil || string(rec.Value) != "a1" || rec.Rev != 1 {
		t.Fatalf("got %+v, %v, want a1 at rev 1 in dev", rec, err)
	}

	_, err = c.Fork(ctx, crush.ForkRequest{From: "default", To: "dev", Target: crush.Key("app/a")})
	e := apiError(t, err, 409, "target_exists")
	if !errors.Is(err, crush.ErrTargetExists) || !reflect.DeepEqual(e.Keys, []string{"app/a"}) {
		t.Fatalf("got keys %v, want [app/a]", e.Keys)
	}
	forced, err := c.Fork(ctx, crush.ForkRequest{From: "default", To: "dev", Target: crush.Key("app/a"), Revision: 1, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec, _ := c.Get(ctx, "app/a", &crush.GetOptions{Fork: "dev"}); string(rec.Value) != "a0" || rec.Rev != forced.Keys[0].Rev {
		t.Fatalf("got %q rev %d after forcing the fork of revision 1, want a0 rev %d", rec.Value, rec.Rev, forced.Keys[0].Rev)
	}

	list, err := c.Forks(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var dev *crush.ForkInfo
	for i := range list.Forks {
		if list.Forks[i].Name == "dev" {
			dev = &list.Forks[i]
		}
	}
	if dev == nil || dev.Keys != 2 || len(dev.Points) != 2 {
		t.Fatalf("got forks %+v, want dev with 2 keys and 2 fork points", list.Forks)
	}
	p0, p1 := dev.Points[0], dev.Points[1]
	if p0.From != "default" || !p0.Target.IsPrefix() || p0.Target.String() != "app/*" || p0.Revision != 5 || p0.FromRevision != 4 {
		t.Fatalf("got first point %+v, want the prefix app/ of default at revision 4, made at 5", p0)
	}
	if p1.Target.IsPrefix() || p1.Target.String() != "app/a" || p1.FromRevision != 1 {
		t.Fatalf("got second point %+v, want key app/a from revision 1", p1)
	}
}

func TestClient_ForkErrors(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "app/a", "a0", nil)
	errCases := []struct {
		name   string
		req    crush.ForkRequest
		status int
		code   string
	}{
		{"missing source", crush.ForkRequest{From: "default", To: "x", Target: crush.Key("nope")}, 404, "source_not_found"},
		{"no target", crush.ForkRequest{From: "default", To: "x"}, 400, "invalid_target"},
		{"same fork", crush.ForkRequest{From: "dev", To: "dev", Target: crush.Key("app/a")}, 400, "invalid_fork"},
		{"negative revision", crush.ForkRequest{From: "default", To: "x", Target: crush.Key("app/a"), Revision: -1}, 400, "invalid_revision"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Fork(ctx, tc.req)
			apiError(t, err, tc.status, tc.code)
		})
	}
}

func TestClient_Merge(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "cfg/a", "a0", nil)
	mustPut(t, c, ctx, "cfg/b", "b0", nil)
	if _, err := c.Fork(ctx, crush.ForkRequest{From: "default", To: "dev", Target: crush.Prefix("cfg/")}); err != nil {
		t.Fatal(err)
	}
	mustPut(t, c, ctx, "cfg/a", "a-dev", &crush.PutOptions{Fork: "dev"})

	ff, err := c.Merge(ctx, crush.MergeRequest{From: "dev", To: "default", Target: crush.Prefix("cfg/")})
	if err != nil {
		t.Fatal(err)
	}
	if ff.Strategy != crush.ThreeWay || len(ff.Keys) != 2 || ff.Keys[0].Result != "fast-forward" || ff.Keys[1].Result != "unchanged" {
		t.Fatalf("got %+v, want a three-way fast-forward of cfg/a and cfg/b unchanged", ff)
	}

	mustPut(t, c, ctx, "cfg/b", "b-dev", &crush.PutOptions{Fork: "dev"})
	mustPut(t, c, ctx, "cfg/b", "b-main", nil)
	_, err = c.Merge(ctx, crush.MergeRequest{From: "dev", To: "default", Target: crush.Key("cfg/b")})
	e := apiError(t, err, 409, "conflict")
	if !errors.Is(err, crush.ErrConflict) || len(e.Conflicts) != 1 {
		t.Fatalf("got %+v, want one conflict", e)
	}
	if cf := e.Conflicts[0]; cf.Key != "cfg/b" || cf.BaseRev == nil || *cf.BaseRev != 0 || cf.SourceRev != 1 || cf.TargetRev != 1 {
		t.Fatalf("got conflict %+v, want cfg/b base 0 source 1 target 1", cf)
	}
	if rec, _ := c.Get(ctx, "cfg/b", nil); string(rec.Value) != "b-main" {
		t.Fatalf("got %q after a conflict, want b-main untouched", rec.Value)
	}

	kept, err := c.Merge(ctx, crush.MergeRequest{From: "dev", To: "default", Target: crush.Key("cfg/b"), Strategy: crush.TargetWins})
	if err != nil || kept.Keys[0].Result != "kept-target" {
		t.Fatalf("target-wins: got %+v, %v", kept, err)
	}
	won, err := c.Merge(ctx, crush.MergeRequest{From: "dev", To: "default", Target: crush.Key("cfg/b"), Strategy: crush.SourceWins})
	if err != nil || won.Strategy != crush.SourceWins {
		t.Fatalf("source-wins: got %+v, %v", won, err)
	}
	if rec, _ := c.Get(ctx, "cfg/b", nil); string(rec.Value) != "b-dev" {
		t.Fatalf("got %q after source-wins, want b-dev", rec.Value)
	}

	_, err = c.Merge(ctx, crush.MergeRequest{From: "dev", To: "default", Target: crush.Key("cfg/b"), Strategy: "ours"})
	apiError(t, err, 400, "invalid_strategy")
	_, err = c.Merge(ctx, crush.MergeRequest{From: "nowhere", To: "default", Target: crush.Key("cfg/b")})
	apiError(t, err, 404, "source_not_found")
}

func TestClient_Txn(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "leader", "node-1", nil)
	txn := crush.Txn{
		Compare: []crush.Compare{crush.CompareValue("leader", crush.Equal, []byte("node-1")), crush.KeyMissing("lock")},
		Then:    []crush.TxnOp{crush.OpPut("leader", []byte("node-2")), crush.OpPut("lock", []byte("x")).InFork("locks"), crush.OpGet("leader")},
		Else:    []crush.TxnOp{crush.OpGet("leader")},
	}
	res, err := c.Txn(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded || res.Revision != 2 || len(res.Results) != 3 {
		t.Fatalf("got %+v, want success at revision 2 with 3 results", res)
	}
	if r := res.Results[1]; r.Op != "put" || r.Key != "lock" || r.Fork != "locks" {
		t.Fatalf("got %+v, want the put of lock in locks", r)
	}
	if r := res.Results[2]; !r.Found || r.Record == nil || string(r.Record.Value) != "node-2" || r.Rev != 1 {
		t.Fatalf("got %+v, want get of node-2 at rev 1", r)
	}
	res, err = c.Txn(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	if res.Succeeded || len(res.Results) != 1 || string(res.Results[0].Record.Value) != "node-2" {
		t.Fatalf("got %+v, want the else branch reading node-2", res)
	}
	cmps := []crush.Compare{
		crush.CompareRev("leader", crush.Equal, 1), crush.CompareModRevision("leader", crush.Equal, 2),
		crush.CompareCreatedRevision("leader", crush.Less, 2), crush.KeyExists("leader"),
		crush.CompareRev("lock", crush.Equal, -1), crush.KeyExists("lock").InFork("locks"),
		crush.CompareValue("leader", crush.Greater, []byte("node-1")), crush.CompareRev("leader", crush.NotEqual, 0),
	}
	for i, cmp := range cmps {
		res, err := c.Txn(ctx, crush.Txn{Compare: []crush.Compare{cmp}})
		if err != nil || !res.Succeeded {
			t.Fatalf("compare %d %+v: got %+v, %v, want success", i, cmp, res, err)
		}
	}
	_, err = c.Txn(ctx, crush.Txn{Compare: []crush.Compare{{Key: "k", Target: "size", Op: crush.Equal}}})
	apiError(t, err, 400, "invalid_compare")
	_, err = c.Txn(ctx, crush.Txn{Then: []crush.TxnOp{crush.OpPut("k", nil), crush.OpDelete("k")}})
	apiError(t, err, 400, "duplicate_key")
}

func TestClient_Keys(t *testing.T) {
	c, ctx := setup(t)
	for _, k := range []string{"a/1", "a/2", "a/3", "b/1"} {
		mustPut(t, c, ctx, k, "x", nil)
	}
	if _, err := c.Delete(ctx, "a/2", nil); err != nil {
		t.Fatal(err)
	}
	page, err := c.Keys(ctx, &crush.KeysOptions{Prefix: "a/", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(page.Keys, []string{"a/1"}) || page.Next == nil || *page.Next != "a/1" || page.Revision != 5 {
		t.Fatalf("got %+v, want [a/1] next a/1 revision 5", page)
	}
	var all []string
	for k, err := range c.KeysAll(ctx, &crush.KeysOptions{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, k)
	}
	if want := []string{"a/1", "a/3", "b/1"}; !reflect.DeepEqual(all, want) {
		t.Fatalf("got %v, want %v", all, want)
	}
	past, err := c.Keys(ctx, &crush.KeysOptions{Prefix: "a/", Revision: 2, Serializable: true})
	if err != nil || !reflect.DeepEqual(past.Keys, []string{"a/1", "a/2"}) || past.Next != nil {
		t.Fatalf("got %+v, %v at revision 2, want [a/1 a/2]", past, err)
	}
	empty, err := c.Keys(ctx, &crush.KeysOptions{Fork: "none"})
	if err != nil || len(empty.Keys) != 0 || empty.Keys == nil {
		t.Fatalf("got %+v, %v for an empty fork, want an empty list", empty, err)
	}
	_, err = c.Keys(ctx, &crush.KeysOptions{Revision: 99})
	apiError(t, err, 400, "future_revision")
}
