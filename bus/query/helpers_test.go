package query_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// decodeJSONForFuzz decodes JSON into the bus value model (int64 or float64 numbers).
func decodeJSONForFuzz(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return model(v), nil
}

func model(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return i
			}
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		for i, e := range x {
			x[i] = model(e)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = model(e)
		}
	}
	return v
}
