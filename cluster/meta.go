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
//
// A decoder ignores bytes after the fields it knows, so a later version may append fields.
const metaVersion = 1

var errBadMeta = errors.New("malformed node metadata")

// encodeMeta appends the metadata for the given addresses to dst.
func encodeMeta(dst []byte, httpAddr, remoteAddr string) []byte {
	dst = append(dst, metaVersion)
	dst = binary.AppendUvarint(dst, uint64(len(httpAddr)))
	dst = append(dst, httpAddr...)
	dst = binary.AppendUvarint(dst, uint64(len(remoteAddr)))
	dst = append(dst, remoteAddr...)
	return dst
}

// decodeMeta parses metadata written by encodeMeta.
func decodeMeta(b []byte) (httpAddr, remoteAddr string, err error) {
	if len(b) == 0 || b[0] != metaVersion {
		return "", "", errBadMeta
	}
	b = b[1:]
	if httpAddr, b, err = readString(b); err != nil {
		return "", "", err
	}
	if remoteAddr, _, err = readString(b); err != nil {
		return "", "", err
	}
	return httpAddr, remoteAddr, nil
}

func readString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, errBadMeta
	}
	b = b[k:]
	return string(b[:n]), b[n:], nil
}
