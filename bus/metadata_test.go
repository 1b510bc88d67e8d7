package bus_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/mahou-go/mahou/bus"
)

func TestParseMetadata_Types(t *testing.T) {
	good := map[bus.Type][]any{
		bus.TypeString:  {"", "x"},
		bus.TypeInteger: {int64(0), int64(-3)},
		bus.TypeFloat:   {0.0, 1.5},
		bus.TypeVersion: {"1.2.3", "1.2.3-rc.1+b.5", "0.0.0-alpha"},
		bus.TypeList:    {[]any{}, []any{int64(1), "a"}},
		bus.TypeBoolean: {true, false},
		bus.TypeMap:     {map[string]any{}, map[string]any{"a": []any{}}},
	}
	bad := map[bus.Type][]any{
		bus.TypeString:  {int64(1), nil},
		bus.TypeInteger: {1.0, "1"},
		bus.TypeFloat:   {int64(1), "1.0"},
		bus.TypeVersion: {"1.2", "01.2.3", "1.2.3-", "v1.2.3", int64(1)},
		bus.TypeList:    {map[string]any{}, "[]"},
		bus.TypeBoolean: {"true", int64(1)},
		bus.TypeMap:     {[]any{}, nil},
	}
	for typ, values := range good {
		for _, v := range values {
			if _, err := bus.ParseMetadata(map[string]any{"k": map[string]any{"type": string(typ), "value": v}}); err != nil {
				t.Errorf("%s %#v: got %v, want accepted", typ, v, err)
			}
		}
	}
	for typ, values := range bad {
		for _, v := range values {
			_, err := bus.ParseMetadata(map[string]any{"k": map[string]any{"type": string(typ), "value": v}})
			var me *bus.MetadataError
			if !errors.As(err, &me) || me.Problems["k"] != "k: value fails validation for '"+string(typ)+"'" {
				t.Errorf("%s %#v: got %v, want a validation failure", typ, v, err)
			}
		}
	}
}

func TestParseMetadata_AllOrNothing(t *testing.T) {
	up, err := bus.ParseMetadata(map[string]any{
		"ok":     map[string]any{"type": "integer", "value": int64(1)},
		"ip":     map[string]any{"type": "string", "value": "x"},
		"weird":  map[string]any{"type": int64(5), "value": int64(1)},
		"broken": "x",
	})
	if !errors.Is(err, bus.ErrInvalidMetadata) || up.Values != nil {
		t.Fatalf("got %v, %v; want nothing applied", up, err)
	}
	var me *bus.MetadataError
	errors.As(err, &me)
	want := map[string]string{
		"ip":     "ip: forbidden metadata key",
		"weird":  "weird: type '5' doesn't exists",
		"broken": `broken: entry must be an object with "type" and "value"`,
	}
	if !reflect.DeepEqual(me.Problems, want) {
		t.Errorf("got %v, want %v", me.Problems, want)
	}
	if _, err := bus.ParseMetadata([]any{}); !errors.Is(err, bus.ErrInvalidMetadata) {
		t.Errorf("list: got %v, want ErrInvalidMetadata", err)
	}
}

func TestApply_Strategies(t *testing.T) {
	c := &bus.Client{
		Metadata: map[string]any{"a": int64(1), "ip": "1.2.3.4"},
		Types:    map[string]bus.Type{"a": bus.TypeInteger, "ip": bus.TypeString},
	}
	up := bus.MetadataUpdate{Values: map[string]any{"b": "x"}, Types: map[string]bus.Type{"b": bus.TypeString}}
	meta, types := bus.Apply(c, up, bus.StrategyMerge)
	if !reflect.DeepEqual(meta, map[string]any{"a": int64(1), "ip": "1.2.3.4", "b": "x"}) || types["b"] != bus.TypeString {
		t.Errorf("merge: got %v %v", meta, types)
	}
	meta, _ = bus.Apply(c, up, bus.StrategyReplace)
	if !reflect.DeepEqual(meta, map[string]any{"ip": "1.2.3.4", "b": "x"}) {
		t.Errorf("replace: got %v, want reserved keys kept and the rest replaced", meta)
	}
	if c.Metadata["b"] != nil {
		t.Error("Apply changed the client")
	}
}
