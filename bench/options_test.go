package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseOptions_Defaults(t *testing.T) {
	o, err := parseOptions("kv", nil, io.Discard)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if o.duration != DefaultDuration || o.rounds != DefaultRounds || o.keys != 10_000 {
		t.Errorf("got duration %v rounds %d keys %d, want the defaults", o.duration, o.rounds, o.keys)
	}
	if !slices.Equal(o.clients, []int{1, 16, 64, 256}) || !slices.Equal(o.sizes, []int{256, 4096}) || !slices.Equal(o.nodes, []int{1, 3}) {
		t.Errorf("got clients %v sizes %v nodes %v", o.clients, o.sizes, o.nodes)
	}
	if !slices.Equal(o.systems, []string{"etcd", "crush"}) {
		t.Errorf("got systems %v, want the peer first: [etcd crush]", o.systems)
	}
}

func TestParseOptions_Flags(t *testing.T) {
	o, err := parseOptions("kv", []string{"--duration", "5s", "--clients", "1, 64", "--value-sizes", "256B,4KiB",
		"--nodes", "3", "--rounds", "2", "--systems", "crush", "--out", "x.md"}, io.Discard)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if o.duration != 5*time.Second || o.rounds != 2 || o.out != "x.md" {
		t.Errorf("got duration %v rounds %d out %q", o.duration, o.rounds, o.out)
	}
	if !slices.Equal(o.clients, []int{1, 64}) || !slices.Equal(o.sizes, []int{256, 4096}) || !slices.Equal(o.nodes, []int{3}) {
		t.Errorf("got clients %v sizes %v nodes %v", o.clients, o.sizes, o.nodes)
	}
	if !slices.Equal(o.systems, []string{"crush"}) || o.hasSystem("etcd") {
		t.Errorf("got systems %v, want [crush]", o.systems)
	}
}

func TestParseOptions_Errors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--nodes", "2"}, "use 1 or 3"},
		{[]string{"--systems", "redis"}, "use crush and/or etcd"},
		{[]string{"--rounds", "0"}, "--rounds"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--clients", "a"}, "--clients"},
		{[]string{"--value-sizes", "4MB"}, "--value-sizes"},
		{[]string{"--clients", "0"}, "positive"},
		{[]string{"extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseOptions("kv", tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got err %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int{"256": 256, "256B": 256, "4KiB": 4096, "4k": 4096, "4 KB": 4096} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q): got %d, %v; want %d", in, got, err, want)
		}
	}
}
