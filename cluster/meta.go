package cluster

import (
	"encoding/binary"
	"errors"
)

// Node metadata layout (memberlist allows 512 bytes):
//
//	byte 0     metaVersion
//	uvarint    len(HTTPAddr), HTTPAddr
//	uvarint    len(RemoteAddr), RemoteAddr
//	byte       flags (optional; bit 0: the node is leaving gracefully)
//
// A decoder ignores bytes after the fields it knows, so a later version may append fields.
//
// The leaving flag exists because memberlist's event delegate cannot tell a graceful leave
// from a failure: NotifyLeave passes a Node whose State field is never updated (nodeState
// shadows it). Leave first re-advertises this node with the flag and waits for that update
// to be gossiped, so the others report "left" rather than "dead".
const metaVersion = 1

var errBadMeta = errors.New("malformed node metadata")

const metaFlagLeaving = 1 << 0

// encodeMeta appends the metadata for the given addresses to dst.
func encodeMeta(dst []byte, httpAddr, remoteAddr string, leaving bool) []byte {
	dst = append(dst, metaVersion)
	dst = binary.AppendUvarint(dst, uint64(len(httpAddr)))
	dst = append(dst, httpAddr...)
	dst = binary.AppendUvarint(dst, uint64(len(remoteAddr)))
	dst = append(dst, remoteAddr...)
	var flags byte
	if leaving {
		flags |= metaFlagLeaving
	}
	return append(dst, flags)
}

// decodeMeta parses metadata written by encodeMeta.
func decodeMeta(b []byte) (httpAddr, remoteAddr string, leaving bool, err error) {
	if len(b) == 0 || b[0] != metaVersion {
		return "", "", false, errBadMeta
	}
	b = b[1:]
	if httpAddr, b, err = readString(b); err != nil {
		return "", "", false, err
	}
	if remoteAddr, b, err = readString(b); err != nil {
		return "", "", false, err
	}
	leaving = len(b) > 0 && b[0]&metaFlagLeaving != 0
	return httpAddr, remoteAddr, leaving, nil
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, errBadMeta
	}
	b = b[k:]
	return string(b[:n]), b[n:], nil
}
