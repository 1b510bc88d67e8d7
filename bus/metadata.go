package bus

import (
	"fmt"
	"regexp"
	"sort"
)

// Type is the declared type of a metadata value.
type Type string

// The metadata types of the protocol.
const (
	TypeString  Type = "string"
	TypeInteger Type = "integer"
	TypeFloat   Type = "float"
	TypeVersion Type = "version"
	TypeList    Type = "list"
	TypeBoolean Type = "boolean"
	TypeMap     Type = "map"
)

// Reserved metadata keys, set by the server and forbidden in client updates.
const (
	KeyLastHeartbeatTime    = "last_heartbeat_time"
	KeyRestricted           = "restricted"
	KeyEncoding             = "encoding"
	KeyIP                   = "ip"
	KeyNamespace            = "namespace"
	KeyReceiveClientUpdates = "receive_client_updates"
)

// ReservedTypes are the declared types of the reserved keys, as the original declares them
// (receive_client_updates is declared "string" although its value is a boolean).
var ReservedTypes = map[string]Type{
	KeyLastHeartbeatTime:    TypeInteger,
	KeyRestricted:           TypeBoolean,
	KeyEncoding:             TypeString,
	KeyIP:                   TypeString,
	KeyNamespace:            TypeString,
	KeyReceiveClientUpdates: TypeString,
}

// IsReserved reports whether key is set by the server only.
func IsReserved(key string) bool {
	_, ok := ReservedTypes[key]
	return ok
}

// Strategy says how an update combines with a client's existing metadata.
type Strategy string

// The update strategies.
const (
	// StrategyMerge overwrites the updated keys and keeps the others (the original's default).
	StrategyMerge Strategy = "merge"
	// StrategyReplace replaces every non-reserved key with the update.
	StrategyReplace Strategy = "replace"
)

// MetadataUpdate is a validated set of metadata entries.
type MetadataUpdate struct {
	Values map[string]any
	Types  map[string]Type
}

// MetadataError lists, per key, why a metadata update was refused. Its Problems map is what
// the protocol sends as extra_info.
type MetadataError struct {
	Problems map[string]string
}

func (e *MetadataError) Error() string {
	keys := make([]string, 0, len(e.Problems))
	for k := range e.Problems {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	msg := "invalid metadata"
	for _, k := range keys {
		msg += "; " + e.Problems[k]
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalidMetadata) true.
func (e *MetadataError) Unwrap() error { return ErrInvalidMetadata }

// ParseMetadata validates an update of the wire form {key: {"type": T, "value": V}, ...}. It is
// all-or-nothing: any bad entry makes it return a *MetadataError naming every bad key, and no
// update. A d that is not a map returns an error wrapping ErrInvalidMetadata that is not a
// *MetadataError, since no key is to blame.
func ParseMetadata(d any) (MetadataUpdate, error) {
	m, ok := d.(map[string]any)
	if !ok {
		return MetadataUpdate{}, fmt.Errorf("%w: metadata must be a map of key to {\"type\", \"value\"}, got %s",
			ErrInvalidMetadata, KindOf(d))
	}
	up := MetadataUpdate{Values: make(map[string]any, len(m)), Types: make(map[string]Type, len(m))}
	problems := map[string]string{}
	for key, entry := range m {
		t, v, problem := parseEntry(key, entry)
		if problem != "" {
			problems[key] = problem
			continue
		}
		up.Values[key] = v
		up.Types[key] = t
	}
	if len(problems) > 0 {
		return MetadataUpdate{}, &MetadataError{Problems: problems}
	}
	return up, nil
}

func parseEntry(key string, entry any) (Type, any, string) {
	if IsReserved(key) {
		return "", nil, key + ": forbidden metadata key"
	}
	e, ok := entry.(map[string]any)
	if !ok {
		return "", nil, key + `: entry must be an object with "type" and "value"`
	}
	rawType, hasType := e["type"]
	value, hasValue := e["value"]
	if !hasType || !hasValue {
		return "", nil, key + `: entry must be an object with "type" and "value"`
	}
	typeName, _ := rawType.(string)
	t := Type(typeName)
	if !ValidType(t) {
		return "", nil, fmt.Sprintf("%s: type '%v' doesn't exists", key, rawType)
	}
	if !ValueFits(t, value) {
		return "", nil, fmt.Sprintf("%s: value fails validation for '%s'", key, t)
	}
	return t, value, ""
}

// ValidType reports whether t is one of the protocol's metadata types.
func ValidType(t Type) bool {
	switch t {
	case TypeString, TypeInteger, TypeFloat, TypeVersion, TypeList, TypeBoolean, TypeMap:
		return true
	}
	return false
}

// semver is the strict SemVer 2.0.0 grammar that Elixir's Version.parse accepts.
var semver = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// ValueFits reports whether v is a valid value for type t.
func ValueFits(t Type, v any) bool {
	switch t {
	case TypeString:
		_, ok := v.(string)
		return ok
	case TypeInteger:
		_, ok := v.(int64)
		return ok
	case TypeFloat:
		_, ok := v.(float64)
		return ok
	case TypeVersion:
		s, ok := v.(string)
		return ok && semver.MatchString(s)
	case TypeList:
		_, ok := v.([]any)
		return ok
	case TypeBoolean:
		_, ok := v.(bool)
		return ok
	case TypeMap:
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// Apply returns c's metadata combined with up under strategy s, as new maps; c is unchanged.
// Reserved keys always keep c's values.
func Apply(c *Client, up MetadataUpdate, s Strategy) (map[string]any, map[string]Type) {
	meta := make(map[string]any, len(c.Metadata)+len(up.Values))
	types := make(map[string]Type, len(c.Types)+len(up.Types))
	for k, v := range c.Metadata {
		if s == StrategyReplace && !IsReserved(k) {
			continue
		}
		meta[k] = v
		types[k] = c.Types[k]
	}
	for k, v := range up.Values {
		if IsReserved(k) {
			continue
		}
		meta[k] = v
		types[k] = up.Types[k]
	}
	return meta, types
}

// KindOf names the kind of a value of the bus value model, for error messages.
func KindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "float"
	case string:
		return "string"
	case []any:
		return "list"
	case map[string]any:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}
