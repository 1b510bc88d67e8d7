package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mahou-go/mahou/client/crush"
)

// printJSON writes v as indented JSON: the shapes of the API.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes aligned columns; rows are tab-separated cells.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

func (t *table) flush() error { return t.tw.Flush() }

// printable reports whether a value can be shown as text: valid UTF-8 of printable characters,
// spaces, tabs and newlines.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

// showValue is a value as people read it: the text, or base64 with a note.
func showValue(b []byte) string {
	if printable(b) {
		return string(b)
	}
	return base64.StdEncoding.EncodeToString(b) + " (base64: not printable text)"
}

// oneLine shortens a value to one line for a table cell.
func oneLine(b []byte) string {
	s := showValue(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i] + "..."
	}
	const max = 60
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "..."
	}
	return s
}

func u64(n uint64) string { return strconv.FormatUint(n, 10) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func showTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// showAncestors is "fork@rev, ..." newest first, or "-".
func showAncestors(as []crush.Ancestor) string {
	if len(as) == 0 {
		return "-"
	}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.Fork + "@" + u64(a.Rev)
	}
	return strings.Join(parts, ", ")
}

// printRow prints v as JSON, or as a table of one row.
func printRow(w io.Writer, asJSON bool, v any, header, row []string) error {
	if asJSON {
		return printJSON(w, v)
	}
	t := newTable(w, header...)
	t.row(row...)
	return t.flush()
}
