package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// targetFlags build a target query from --app or --target.
type targetFlags struct {
	app    string
	target string
}

// query returns the target: --target parsed as JSON, else {"application": --app}.
func (t targetFlags) query() (map[string]any, error) {
	if t.target != "" {
		v, err := parseJSON(t.target)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errors.New("--target: must be a JSON object such as {\"application\":\"app\",\"ops\":[...]}")
		}
		return m, nil
	}
	if t.app == "" {
		return nil, errors.New("say which clients: --app APP or --target '{...}'")
	}
	return map[string]any{"application": t.app}, nil
}

// parseJSON decodes s keeping integers and floats apart (1 is an integer, 1.0 a float) as
// int64 and float64.
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: trailing data")
	}
	return numbers(v), nil
}

// payloadValue is --payload as JSON when it parses, else as a plain string.
func payloadValue(s string) any {
	if v, err := parseJSON(s); err == nil {
		return v
	}
	return s
}
