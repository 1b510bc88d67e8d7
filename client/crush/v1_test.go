package crush_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/mahou-go/mahou/client/crush"
)

func TestClient_V1GetPut(t *testing.T) {
	c, ctx := setup(t)
	for _, v := range []string{"test 3", "test 2", "test 1"} {
		if err := c.V1Put(ctx, "k", "", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	item, err := c.V1Get(ctx, "k", nil)
	if err != nil || !item.Found || string(item.Value) != "test 1" || len(item.Patches) != 0 || len(item.Values) != 0 {
		t.Fatalf("got %+v, %v, want test 1 without revisions", item, err)
	}
	item, err = c.V1Get(ctx, "k", &crush.V1GetOptions{Revisions: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]crush.Edit{{{Op: "eq", Data: []byte("test ")}, {Op: "del", Data: []byte("1")}, {Op: "ins", Data: []byte("2")}}}
	if !reflect.DeepEqual(item.Patches, want) {
		t.Fatalf("got patches %v, want %v", item.Patches, want)
	}
	item, err = c.V1Get(ctx, "k", &crush.V1GetOptions{AllRevisions: true})
	if err != nil || len(item.Patches) != 2 {
		t.Fatalf("got %+v, %v, want 2 patches", item, err)
	}
	v := item.Value
	for i, p := range item.Patches {
		if v, err = crush.Apply(v, p); err != nil {
			t.Fatalf("apply patch %d: %v", i, err)
		}
	}
	if string(v) != "test 3" {
		t.Fatalf("got %q after applying every patch, want test 3", v)
	}
	item, err = c.V1Get(ctx, "k", &crush.V1GetOptions{AllRevisions: true, Patch: true})
	if err != nil || !reflect.DeepEqual(item.Values, [][]byte{[]byte("test 2"), []byte("test 3")}) {
		t.Fatalf("got %+v, %v, want the earlier values", item, err)
	}
	_, err = c.V1Get(ctx, "k", &crush.V1GetOptions{Revisions: -1})
	apiError(t, err, 400, "invalid_revisions")

	if err := c.V1Put(ctx, "slash/key", "f", []byte("in f")); err != nil {
		t.Fatal(err)
	}
	item, err = c.V1Get(ctx, "slash/key", &crush.V1GetOptions{Fork: "f"})
	if err != nil || string(item.Value) != "in f" {
		t.Fatalf("got %+v, %v, want in f", item, err)
	}
	if rec, err := c.Get(ctx, "slash/key", &crush.GetOptions{Fork: "f"}); err != nil || rec.Fork != "f" {
		t.Fatalf("v2 read of a v1 write: got %+v, %v", rec, err)
	}
}

func TestClient_V1DeleteInfoKeys(t *testing.T) {
	c, ctx := setup(t)
	for _, k := range []string{"a", "b"} {
		for range 2 {
			if err := c.V1Put(ctx, k, "", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
	}
	info, err := c.V1Info(ctx, "a", "")
	if err != nil || info != (crush.V1Info{Key: "a", RevisionCount: 1}) {
		t.Fatalf("got %+v, %v, want a with revision_count 1", info, err)
	}
	if err := c.V1Delete(ctx, "a", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.V1Delete(ctx, "never", ""); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
	if item, err := c.V1Get(ctx, "a", nil); err != nil || item.Found {
		t.Fatalf("got %+v, %v after delete, want not found", item, err)
	}
	if info, err := c.V1Info(ctx, "a", "default"); err != nil || info.RevisionCount != 0 {
		t.Fatalf("got %+v, %v after delete, want revision_count 0", info, err)
	}
	keys, err := c.V1Keys(ctx, "", "")
	if err != nil || !reflect.DeepEqual(keys.Names, []string{"default:b"}) || keys.Truncated {
		t.Fatalf("got %+v, %v, want [default:b]", keys, err)
	}
	keys, err = c.V1Keys(ctx, "zz", "other")
	if err != nil || len(keys.Names) != 0 {
		t.Fatalf("got %+v, %v, want no keys", keys, err)
	}
}

func TestClient_V1ForkMerge(t *testing.T) {
	c, ctx := setup(t)
	if err := c.V1Put(ctx, "k", "", []byte("main")); err != nil {
		t.Fatal(err)
	}
	if err := c.V1Fork(ctx, "k", "default", "dev"); err != nil {
		t.Fatal(err)
	}
	if err := c.V1Fork(ctx, "k", "default", "dev"); !errors.Is(err, crush.ErrTargetExists) {
		t.Fatalf("fork onto an existing key: got %v, want ErrTargetExists", err)
	}
	err := c.V1Fork(ctx, "nope", "default", "dev")
	apiError(t, err, 404, "not_found")
	if err := c.V1Put(ctx, "k", "dev", []byte("dev")); err != nil {
		t.Fatal(err)
	}
	if err := c.V1Merge(ctx, "k", "dev", "default"); err != nil {
		t.Fatal(err)
	}
	if item, _ := c.V1Get(ctx, "k", nil); string(item.Value) != "dev" {
		t.Fatalf("got %q after merge, want dev", item.Value)
	}
	err = c.V1Merge(ctx, "nope", "dev", "default")
	apiError(t, err, 404, "source_not_found")
	if err := c.V1Put(ctx, "only-dev", "dev", []byte("x")); err != nil {
		t.Fatal(err)
	}
	err = c.V1Merge(ctx, "only-dev", "dev", "default")
	if apiError(t, err, 404, "target_not_found"); !errors.Is(err, crush.ErrTargetNotFound) {
		t.Fatalf("got %v, want ErrTargetNotFound", err)
	}
}
