package raftnode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/mahou-go/mahou/kv"
)

// codecVersion is the first byte of every command in the replicated log.
const codecVersion = 1

// errBadCommand marks a log entry this build cannot decode.
var errBadCommand = errors.New("bad command")

// encodeProposal lays out a proposal as: version byte, command kind byte, the leader's time as
// big-endian Unix nanoseconds, then the command as msgpack (a map keyed by field names, so
// fields can be added without breaking old entries).
func encodeProposal(p kv.Proposal) ([]byte, error) {
	body, err := msgpack.Marshal(p.Cmd)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", p.Cmd, err)
	}
	b := make([]byte, 0, 10+len(body))
	b = append(b, codecVersion, byte(p.Cmd.Kind()))
	b = binary.BigEndian.AppendUint64(b, uint64(p.Time.UnixNano()))
	return append(b, body...), nil
}

// decodeProposal undoes encodeProposal.
func decodeProposal(b []byte) (kv.Proposal, error) {
	if len(b) < 10 {
		return kv.Proposal{}, fmt.Errorf("decode command: %w: %d bytes", errBadCommand, len(b))
	}
	if b[0] != codecVersion {
		return kv.Proposal{}, fmt.Errorf("decode command: %w: version %d", errBadCommand, b[0])
	}
	t := time.Unix(0, int64(binary.BigEndian.Uint64(b[2:10])))
	cmd, err := decodeCommand(kv.CommandKind(b[1]), b[10:])
	if err != nil {
		return kv.Proposal{}, err
	}
	return kv.Proposal{Time: t, Cmd: cmd}, nil
}

func decodeCommand(kind kv.CommandKind, body []byte) (kv.Command, error) {
	switch kind {
	case kv.KindPut:
		return decodeAs[kv.Put](body)
	case kv.KindDelete:
		return decodeAs[kv.Delete](body)
	case kv.KindRevert:
		return decodeAs[kv.Revert](body)
	case kv.KindFork:
		return decodeAs[kv.Fork](body)
	case kv.KindMerge:
		return decodeAs[kv.Merge](body)
	case kv.KindTxn:
		return decodeAs[kv.Txn](body)
	case kv.KindCompact:
		return decodeAs[kv.Compact](body)
	case kv.KindSetRetention:
		return decodeAs[kv.SetRetention](body)
	case kv.KindApplyRetention:
		return decodeAs[kv.ApplyRetention](body)
	case kv.KindSetMember:
		return decodeAs[kv.SetMember](body)
	case kv.KindRemoveMember:
		return decodeAs[kv.RemoveMember](body)
	}
	return nil, fmt.Errorf("decode command: %w: kind %d", errBadCommand, kind)
}

func decodeAs[T kv.Command](body []byte) (kv.Command, error) {
	var c T
	if err := msgpack.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("decode %T: %w: %v", c, errBadCommand, err)
	}
	return c, nil
}
