package singyeong

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// Encoding is the wire encoding a Client speaks.
type Encoding string

// The encodings this client speaks.
const (
	JSON    Encoding = "json"
	Msgpack Encoding = "msgpack"
)

func (e Encoding) marshal(v any) ([]byte, error) {
	if e == Msgpack {
		return msgpack.Marshal(v)
	}
	return json.Marshal(floatsAsFloats(v))
}

// unmarshal decodes a frame into plain values: int64 for integers, float64 for floats,
// string, bool, nil, []any and map[string]any.
func (e Encoding) unmarshal(b []byte) (map[string]any, error) {
	var v any
	if e == Msgpack {
		dec := msgpack.NewDecoder(bytes.NewReader(b))
		raw, err := dec.DecodeInterfaceLoose()
		if err != nil {
			return nil, err
		}
		v = plain(raw)
	} else {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		v = plain(v)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode frame: got %T, want a map", v)
	}
	return m, nil
}

// plain normalises decoded values to int64, float64 and map[string]any.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return i
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint:
		return plain(uint64(x))
	case float32:
		return float64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return float64(x)
	case []byte:
		return string(x)
	case []any:
		for i, e := range x {
			x[i] = plain(e)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = plain(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = plain(e)
		}
		return m
	}
	return v
}

// floatsAsFloats rewrites float64 values so that encoding/json writes them with a fraction
// (1.0, not 1): the server types 1 as an integer and 1.0 as a float.
func floatsAsFloats(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return json.Number(s)
	case float32:
		return floatsAsFloats(float64(x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = floatsAsFloats(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = floatsAsFloats(e)
		}
		return out
	}
	return v
}

// MarshalJSON encodes v as JSON writing floats with a fraction (1.0, not 1), so that what a
// program prints or sends keeps the integer/float distinction the server relies on.
func MarshalJSON(v any) ([]byte, error) {
	return json.Marshal(floatsAsFloats(v))
}
