package crush_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mahou-go/mahou/client/crush"
)

func TestClient_Compact(t *testing.T) {
	c, ctx := setup(t)
	for _, v := range []string{"a", "b", "c"} {
		mustPut(t, c, ctx, "k", v, nil)
	}
	res, err := c.Compact(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if res.CompactedRevision != 3 || res.Revision != 3 {
		t.Fatalf("got %+v, want compacted to 3 at revision 3", res)
	}
	_, err = c.Get(ctx, "k", &crush.GetOptions{At: crush.AtRevision(1)})
	e := apiError(t, err, 410, "compacted")
	if !errors.Is(err, crush.ErrCompacted) || e.CompactedRevision != 3 {
		t.Fatalf("got %+v, want compacted_revision 3", e)
	}
	if rec, err := c.Get(ctx, "k", &crush.GetOptions{At: crush.AtRevision(3)}); err != nil || string(rec.Value) != "c" {
		t.Fatalf("got %q, %v at the compacted revision, want c", rec.Value, err)
	}
	_, err = c.Compact(ctx, 0)
	apiError(t, err, 400, "invalid_revision")
	_, err = c.Compact(ctx, 99)
	apiError(t, err, 400, "future_revision")
}

func TestClient_Retention(t *testing.T) {
	c, ctx := setup(t)
	r, err := c.Retention(ctx)
	if err != nil || r != (crush.Retention{}) {
		t.Fatalf("got %+v, %v, want no policy", r, err)
	}
	want := crush.Retention{KeepRevs: 10, KeepDuration: 720 * time.Hour}
	got, err := c.SetRetention(ctx, want)
	if err != nil || got != want {
		t.Fatalf("got %+v, %v, want %+v", got, err, want)
	}
	if got, err := c.Retention(ctx); err != nil || got != want {
		t.Fatalf("read back %+v, %v, want %+v", got, err, want)
	}
	_, err = c.SetRetention(ctx, crush.Retention{KeepRevs: -1})
	apiError(t, err, 400, "invalid_retention")
	st, err := c.Status(ctx)
	if err != nil || st.Retention != want {
		t.Fatalf("got status retention %+v, %v, want %+v", st.Retention, err, want)
	}
}

func TestClient_Status(t *testing.T) {
	c, ctx := setup(t)
	mustPut(t, c, ctx, "a", "1", nil)
	mustPut(t, c, ctx, "b", "2", nil)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "test" || st.Revision != 2 || st.Keys != 2 || st.DBSizeBytes <= 0 || st.AppliedIndex == 0 {
		t.Fatalf("got %+v, want version test, revision 2, 2 keys", st)
	}
	r := st.Raft
	if r == nil || r.State != "leader" || r.NodeID == "" || r.LeaderID != r.NodeID || len(r.Members) != 1 || !r.Members[0].Leader || !r.Members[0].Voter {
		t.Fatalf("got raft status %+v, want a single leader", r)
	}
	if err := c.Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
}
