package kv

import (
	"strings"
	"unicode/utf8"
)

// Limits bound what a request may carry. The zero value means the defaults.
type Limits struct {
	MaxKeyBytes   int
	MaxValueBytes int
	// MaxKeysPerCommand bounds the keys one fork, merge or transaction may touch.
	MaxKeysPerCommand int
}

// The default limits.
const (
	DefaultMaxKeyBytes       = 4096
	DefaultMaxValueBytes     = 1536 * 1024
	DefaultMaxKeysPerCommand = 100000
	// MaxForkNameBytes bounds fork names.
	MaxForkNameBytes = 128
)

// WithDefaults fills zero fields.
func (l Limits) WithDefaults() Limits {
	if l.MaxKeyBytes <= 0 {
		l.MaxKeyBytes = DefaultMaxKeyBytes
	}
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = DefaultMaxValueBytes
	}
	if l.MaxKeysPerCommand <= 0 {
		l.MaxKeysPerCommand = DefaultMaxKeysPerCommand
	}
	return l
}

// ValidateFork checks a fork name: 1 to 128 bytes of letters, digits, '.', '_', '-' or '~'.
func ValidateFork(name string) error {
	if name == "" {
		return Invalid("invalid_fork", "fork name is empty: name a fork such as %q", DefaultFork)
	}
	if len(name) > MaxForkNameBytes {
		return Invalid("invalid_fork", "fork name is %d bytes: the limit is %d", len(name), MaxForkNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '~'
		if !ok {
			return Invalid("invalid_fork", "fork name %q has %q: use letters, digits, '.', '_', '-' or '~'", name, c)
		}
	}
	return nil
}

// ValidateKey checks a key: non-empty UTF-8 without NUL, at most maxBytes long.
func ValidateKey(key string, maxBytes int) error {
	if key == "" {
		return Invalid("invalid_key", "key is empty: name a key")
	}
	if len(key) > maxBytes {
		return Invalid("key_too_large", "key is %d bytes: the limit is %d", len(key), maxBytes)
	}
	if !utf8.ValidString(key) {
		return Invalid("invalid_key", "key is not valid UTF-8: percent-encode UTF-8 text in the URL")
	}
	if strings.IndexByte(key, 0) >= 0 {
		return Invalid("invalid_key", "key contains a NUL byte: keys are text")
	}
	return nil
}

// ValidatePrefix checks a key prefix, which may be empty (every key).
func ValidatePrefix(prefix string, maxBytes int) error {
	if prefix == "" {
		return nil
	}
	return ValidateKey(prefix, maxBytes)
}
